package app

import (
	"marketingbot/pkg/ai"
	"marketingbot/pkg/chat"
	"marketingbot/pkg/telegram"
)

// Streaming answers (gemini.stream): the chat streams only when the model
// client can stream and the sender can show drafts; both adapters can.
var (
	_ chat.StreamGenerator = (*ai.Client)(nil)
	_ chat.DraftSender     = (*telegram.Sender)(nil)
)
