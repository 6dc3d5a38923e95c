// Command loadtest is a measuring tool; its code and documentation live in
// sim/loadtest (go doc marketingbot/sim/loadtest).
package main

import "marketingbot/sim/loadtest"

func main() { loadtest.Main() }
