package worker

import "math/rand/v2"

func jitter() float64 { return rand.Float64() }
