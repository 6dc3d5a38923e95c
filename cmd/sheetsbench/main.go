// Command sheetsbench is a measuring tool; its code and documentation live in
// sim/sheetsbench (go doc marketingbot/sim/sheetsbench).
package main

import "marketingbot/sim/sheetsbench"

func main() { sheetsbench.Main() }
