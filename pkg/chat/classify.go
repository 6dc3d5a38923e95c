package chat

import (
	"strings"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/tasks"
)

// Classification: what kind of unit an update starts, from the task that
// brought it, its content and whether the user is authorized.

// classify tells what an update is; keywords count only for authorized users
// (an unknown user is being asked to authorize).
func (s *Service) classify(it item, up *telego.Update, authorized bool) unitKind {
	switch it.Type {
	case tasks.TypeOperatorMessage:
		return unitOperatorReply
	case tasks.TypeChatCallback:
		if up.CallbackQuery != nil {
			if _, _, ok := parseOperatorAction(up.CallbackQuery.Data); ok {
				return unitOperatorAction
			}
		}
		return unitCallback
	}
	if up.EditedMessage != nil {
		return unitEdited
	}
	m := up.Message
	if m == nil {
		return unitMedia
	}
	switch {
	case m.Contact != nil:
		return unitContact
	case it.Payload.Kind == tasks.KindCommand && knownCommand(m.Text):
		if command(m.Text) == "operator" {
			return unitEscalate
		}
		return unitCommand
	case m.Text != "":
		if strings.TrimSpace(m.Text) == "" {
			return unitEmpty
		}
		if authorized && s.isEscalation(m.Text) {
			return unitEscalate
		}
		return unitText
	case it.Payload.Kind == tasks.KindMedia || it.Payload.Kind == tasks.KindLocation || it.Payload.Kind == tasks.KindOther:
		if m.Caption == "" && it.Payload.Kind == tasks.KindOther && m.Text == "" {
			return unitEmpty
		}
		return unitMedia
	}
	return unitEmpty
}

// command is the bot command text starts with ("" for none), lower case,
// without a @botname suffix.
func command(text string) string {
	f := strings.Fields(text)
	if len(f) == 0 || !strings.HasPrefix(f[0], "/") {
		return ""
	}
	c, _, _ := strings.Cut(strings.TrimPrefix(f[0], "/"), "@")
	return strings.ToLower(c)
}

func knownCommand(text string) bool {
	switch command(text) {
	case "start", "help", "operator", "analytics":
		return true
	}
	return false
}

// isEscalation: the text contains an escalation keyword (case-insensitive).
func (s *Service) isEscalation(text string) bool {
	t := strings.ToLower(text)
	for _, k := range s.kw {
		if strings.Contains(t, k) {
			return true
		}
	}
	return false
}
