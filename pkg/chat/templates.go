package chat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram/tghtml"
)

// Templates: canned answers from the team's sheet (Шаблоны: key, title,
// text). In the partner's topic — or as a Reply to the partner's card or
// message in a group without topics — "/t" lists them as buttons (and
// their keys), "/t key" sends one; a button sends its template. The text's
// placeholders are filled, and the result goes exactly like an operator's
// reply (operatorSays): into the history as the operator's line, then to
// the partner as "Оператор …: text". The operators see a line saying which
// template went and which placeholders stayed unfilled.
//
// Placeholders: {имя} (the partner's first name), {фио} (full name),
// {код} (partner code), {оператор} (who sends it); also {name},
// {full_name}, {code}, {operator}. One with no value (no name in the
// sheet) or an unknown name stays exactly as typed — readable, and named
// to the operator — rather than leaving a hole in the sentence.

// templateButtonPrefix starts a template button's data:
// "tpl:<partner>:<8 hex of the key's SHA-256>" (keys may be long or
// Cyrillic; callback data holds 64 bytes).
const templateButtonPrefix = "tpl:"

// maxTemplateButtons bounds the list's buttons (Telegram allows 100).
const maxTemplateButtons = 40

func templateHash(key string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(key))))
	return hex.EncodeToString(h[:4])
}

func templateButtonData(uid int64, key string) string {
	return templateButtonPrefix + strconv.FormatInt(uid, 10) + ":" + templateHash(key)
}

// templateButtonUser is the partner a template button is about.
func templateButtonUser(data string) (int64, bool) {
	rest, ok := strings.CutPrefix(data, templateButtonPrefix)
	if !ok {
		return 0, false
	}
	id, hash, ok := strings.Cut(rest, ":")
	uid, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || uid <= 0 || len(hash) != 8 {
		return 0, false
	}
	return uid, true
}

// parseTemplateButton is the hash of the template a button sends.
func parseTemplateButton(data string) (string, bool) {
	if _, ok := templateButtonUser(data); !ok {
		return "", false
	}
	return data[strings.LastIndexByte(data, ':')+1:], true
}

func (s *Service) templates(ctx context.Context) ([]domain.Template, error) {
	if s.d.Desk == nil {
		return nil, nil
	}
	ts, err := s.d.Desk.Templates(ctx)
	if err != nil {
		return nil, fmt.Errorf("chat: templates: %w", err)
	}
	return ts, nil
}

// templateCommand is /t (the list) or /t key (send it) about uid.
func (s *Service) templateCommand(ctx context.Context, uid int64, p domain.Partner, u unit, op string) error {
	m := u.upd[0].Message
	ts, err := s.templates(ctx)
	if err != nil {
		return err
	}
	_, key, _ := strings.Cut(strings.TrimSpace(m.Text), " ")
	key = strings.TrimSpace(key)
	step := stepRef{uid, u.lastID(), "tpl"}
	if len(ts) == 0 {
		return s.toOperator(ctx, step, m.MessageID, s.tx.TemplatesNone, nil)
	}
	if key == "" {
		return s.toOperator(ctx, step, m.MessageID, s.templateList(p, ts), s.templateButtons(uid, ts))
	}
	for _, t := range ts {
		if strings.EqualFold(t.Key, key) {
			return s.sendTemplate(ctx, uid, p, u, sending{t: t, op: op, replyTo: m.MessageID, inTopic: inTopic(m), at: msgTime(m)})
		}
	}
	return s.toOperator(ctx, step, m.MessageID, s.templateUnknown(key, ts), nil)
}

// templateButton sends the template a list's button names.
func (s *Service) templateButton(ctx context.Context, uid int64, p domain.Partner, u unit, op, hash string) error {
	q := u.upd[0].CallbackQuery
	listID, topic := 0, false
	if m := q.Message.Message(); m != nil {
		listID, topic = m.MessageID, inTopic(m)
	}
	ts, err := s.templates(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if templateHash(t.Key) == hash {
			return s.sendTemplate(ctx, uid, p, u, sending{t: t, op: op, replyTo: listID, inTopic: topic, at: s.now().Truncate(time.Second)})
		}
	}
	// Deleted or renamed in the sheet since the list was posted.
	return s.toOperator(ctx, stepRef{uid, u.lastID(), "tpl"}, listID, s.templateUnknown("…", ts), nil)
}

// sending is a template on its way to a partner.
type sending struct {
	t       domain.Template
	op      string
	replyTo int // the operator's /t, or the list whose button was pressed
	inTopic bool
	at      time.Time
}

// sendTemplate fills the template and says it to the partner as the
// operator; the operators are told it went (unless it did not reach the
// partner: operatorSays has told them that instead).
func (s *Service) sendTemplate(ctx context.Context, uid int64, p domain.Partner, u unit, w sending) error {
	s.metrics.turns.WithLabelValues("template").Inc()
	text, unfilled := fillTemplate(w.t.Text, templateValues(p, w.op))
	var relayErr error
	err := s.operatorSays(ctx, uid, p, u, said{operator: w.op, text: text, id: "tpl-" + strconv.FormatInt(u.lastID(), 10), at: w.at,
		inTopic: w.inTopic, replyTo: w.replyTo, relay: func() error {
			_, relayErr = s.post(ctx, outgoing{step: stepRef{uid, u.lastID(), "relay"},
				body: s.tx.Render(s.tx.OperatorReply, map[string]any{"Operator": tghtml.Escape(w.op), "Text": tghtml.Escape(text)})})
			return relayErr
		}})
	if err != nil || relayErr != nil {
		return err
	}
	title := w.t.Title
	if title == "" {
		title = w.t.Key
	}
	note := s.tx.Render(s.tx.TemplateSent, map[string]any{"Operator": tghtml.Escape(w.op), "Title": tghtml.Escape(title)})
	if len(unfilled) > 0 {
		note += s.tx.Render(s.tx.TemplateUnfilled, map[string]any{"Names": tghtml.Escape(strings.Join(unfilled, ", "))})
	}
	return s.toOperator(ctx, stepRef{uid, u.lastID(), "tpl-sent"}, w.replyTo, note, nil)
}

// templateList is the text above the buttons: every key with its title,
// so "/t key" can be typed too.
func (s *Service) templateList(p domain.Partner, ts []domain.Template) string {
	lines := []string{s.tx.Render(s.tx.TemplatesList, map[string]any{"Name": tghtml.Escape(topicName(p, p.TelegramID))})}
	for _, t := range ts {
		line := "<code>" + tghtml.Escape(t.Key) + "</code>"
		if t.Title != "" {
			line += " — " + tghtml.Escape(t.Title)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func (s *Service) templateButtons(uid int64, ts []domain.Template) *telego.InlineKeyboardMarkup {
	var rows [][]telego.InlineKeyboardButton
	for _, t := range ts[:min(len(ts), maxTemplateButtons)] {
		label := t.Title
		if label == "" {
			label = t.Key
		}
		rows = append(rows, []telego.InlineKeyboardButton{{Text: label, CallbackData: templateButtonData(uid, t.Key)}})
	}
	return &telego.InlineKeyboardMarkup{InlineKeyboard: rows}
}

func (s *Service) templateUnknown(key string, ts []domain.Template) string {
	keys := make([]string, 0, len(ts))
	for _, t := range ts {
		keys = append(keys, "<code>"+tghtml.Escape(t.Key)+"</code>")
	}
	return s.tx.Render(s.tx.TemplateUnknown, map[string]any{"Key": tghtml.Escape(key), "Keys": strings.Join(keys, ", ")})
}

// toOperator answers in the operators' group about uid (in the partner's
// topic in a forum), as a reply to the operator's message replyTo, once
// (a recorded step). A text the group refuses for good is only logged.
func (s *Service) toOperator(ctx context.Context, step stepRef, replyTo int, text string, markup telego.ReplyMarkup) error {
	err := s.toGroup(ctx, step.uid, func(thread int) error {
		_, err := s.post(ctx, outgoing{step: step, chat: s.o.OperatorsChatID, thread: thread, replyTo: replyTo, body: text, markup: markup})
		return err
	})
	if undeliverable(err) {
		s.log.Error("answer to the operators' group refused", "telegram_id", step.uid, "step", step.name, "err", err)
		return nil
	}
	return err
}

// placeholder is {name} in a template: letters, digits and underscores.
var placeholder = regexp.MustCompile(`\{([\p{L}\p{N}_]+)\}`)

// templateValues are the placeholders' values for partner p and operator
// op; an empty value leaves its placeholder as typed.
func templateValues(p domain.Partner, op string) map[string]string {
	first := ""
	if strings.TrimSpace(p.FullName) != "" {
		first = firstName(p)
	}
	full := strings.TrimSpace(p.FullName)
	code := strings.TrimSpace(p.Code)
	return map[string]string{"имя": first, "name": first, "фио": full, "full_name": full, "код": code, "code": code,
		"оператор": op, "operator": op}
}

// fillTemplate replaces the placeholders that have a value (names match
// ignoring case); the others stay as typed and are returned, once each.
func fillTemplate(text string, values map[string]string) (string, []string) {
	var unfilled []string
	seen := map[string]bool{}
	out := placeholder.ReplaceAllStringFunc(text, func(m string) string {
		if v := values[strings.ToLower(m[1:len(m)-1])]; v != "" {
			return v
		}
		if !seen[m] {
			seen[m] = true
			unfilled = append(unfilled, m)
		}
		return m
	})
	return out, unfilled
}
