// Package configs carries the default configuration files inside the
// binaries: the Russian messages, the system prompt and the example config.
// The files beside this one are the originals; deployments copy and edit them.
package configs

import _ "embed"

// MessagesRU is messages.ru.yaml: every user-facing text of the bot.
//
//go:embed messages.ru.yaml
var MessagesRU []byte

// SystemPrompt is system_prompt.txt: the assistant's scenarios §1–§14.
//
//go:embed system_prompt.txt
var SystemPrompt string

// Example is config.example.yaml.
//
//go:embed config.example.yaml
var Example []byte
