// Command worker runs MarketingBot's worker role. See README.md and pkg/app.
package main

import (
	"os"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
)

func main() { os.Exit(app.Execute(config.RoleWorker, os.Args[1:])) }
