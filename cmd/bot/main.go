// Command bot runs MarketingBot's bot role. See README.md and pkg/app.
package main

import (
	"os"

	"marketingbot/pkg/app"
	"marketingbot/pkg/config"
)

func main() { os.Exit(app.Execute(config.RoleBot, os.Args[1:])) }
