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
	case tasks.TypeChatMember:
		return unitMember
	case tasks.TypeChatCallback:
		if up.CallbackQuery == nil {
			return unitUnknownButton
		}
		switch b, _ := s.button(up.CallbackQuery); b {
		case buttonOperator:
			return unitOperatorAction
		case buttonEscalate:
			return unitCallback
		case buttonRate:
			return unitRate
		}
		return unitUnknownButton
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

// buttonKind is what a button press asks for, from its data and the chat
// it was pressed in. Telegram hands the data over as the client sent it, and
// a client can send any: only data we issue, pressed where we put it, counts.
type buttonKind int

const (
	buttonUnknown  buttonKind = iota // data we never issued, of a wrong shape, or ours in the wrong chat
	buttonEscalate                   // the menu's "a person, please", in the user's private chat
	buttonOperator                   // take / resolve under a card in the operators' group
	buttonPromo                      // the promotions' buttons in the operators' group (OperatorExtension)
	buttonRate                       // the rating question's buttons, in the partner's private chat (rating.go)
)

// button classifies a press; for an operator's button, uid is the user the
// card is about, otherwise the presser.
func (s *Service) button(q *telego.CallbackQuery) (kind buttonKind, uid int64) {
	if s.fromOperatorsChat(q) {
		if strings.HasPrefix(q.Data, promoButtonPrefix) && s.d.Operators != nil {
			return buttonPromo, q.From.ID
		}
		if _, target, ok := parseOperatorAction(q.Data); ok {
			return buttonOperator, target
		}
		if target, ok := templateButtonUser(q.Data); ok { // templates.go
			return buttonOperator, target
		}
		return buttonUnknown, q.From.ID
	}
	if q.Data == callbackEscalate && q.Message != nil && q.Message.GetChat().ID == q.From.ID {
		return buttonEscalate, q.From.ID
	}
	if _, ok := parseRate(q.Data); ok && q.Message != nil && q.Message.GetChat().ID == q.From.ID {
		return buttonRate, q.From.ID
	}
	return buttonUnknown, q.From.ID
}

// promoButtonPrefix starts the data of the promotions' buttons (pkg/promo).
const promoButtonPrefix = "promo:"

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
