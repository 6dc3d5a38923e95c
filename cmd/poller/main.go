// Command poller runs MarketingBot's poller role. See README.md and pkg/app.
package main

import (
	"os"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
)

func main() { os.Exit(app.Execute(config.RolePoller, os.Args[1:])) }
