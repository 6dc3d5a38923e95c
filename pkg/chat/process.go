package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/mymmrac/telego"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// maxAttempts bounds retries of one unit before the user gets an apology and
// the unit is dropped (so a poisoned update cannot block the inbox).
const maxAttempts = 6

type unitKind int

const (
	unitText           unitKind = iota // plain text: an AI turn (mergeable)
	unitEdited                         // an edited message: an AI turn on the new text
	unitCommand                        // /start, /help, /operator, /analytics
	unitEscalate                       // keyword, /operator or the button
	unitContact                        // a shared contact
	unitMedia                          // photo, voice, sticker, location…
	unitEmpty                          // whitespace only
	unitCallback                       // a user's button press
	unitOperatorAction                 // take / resolve pressed in the operators' group
	unitOperatorReply                  // an operator's reply in the group
)

// unit is what is processed in one go: usually one update, several for
// quick successive texts.
type unit struct {
	kind  unitKind
	items []item
	upd   []*telego.Update
}

func (u unit) lastID() int64 { return u.items[len(u.items)-1].Payload.UpdateID }
func (u unit) has(updateID int64) bool {
	for _, it := range u.items {
		if it.Payload.UpdateID == updateID {
			return true
		}
	}
	return false
}
func (u unit) firstID() int64 { return u.items[0].Payload.UpdateID }
func (u unit) ids() []int64 {
	out := make([]int64, len(u.items))
	for i, it := range u.items {
		out[i] = it.Payload.UpdateID
	}
	return out
}

// message returns the message of the i-th update (new or edited).
func (u unit) message(i int) *telego.Message {
	if m := u.upd[i].Message; m != nil {
		return m
	}
	return u.upd[i].EditedMessage
}

func decode(it item) (*telego.Update, error) {
	var up telego.Update
	if err := json.Unmarshal(it.Payload.Update, &up); err != nil {
		return nil, err
	}
	return &up, nil
}

// gapTimeout: how long a missing predecessor may hold back a user's later
// updates (its task may have been archived by hand, say).
const gapTimeout = 2 * time.Minute

// process drains the inbox one unit at a time; re-reading the inbox between
// units keeps late arrivals in order and lets authorization change mid-way.
// It stops at a gap in the user's chain: an earlier update whose task has
// not reached the inbox yet; that task drains when it arrives.
func (s *Service) process(ctx context.Context, uid int64) (progress bool, err error) {
	// prev is the write of the last AI turn, running in the background
	// (pipeline.go); its unit leaves the inbox when the write has landed.
	var prev *pendingSave
	settle := func() error {
		if prev == nil {
			return nil
		}
		ps := prev
		prev = nil
		if err := ps.wait(); err != nil {
			if err := s.unitFailed(ctx, uid, ps.u, err); err != nil {
				return err
			}
		}
		return s.ib.complete(ctx, uid, ps.u.ids()...)
	}
	defer func() {
		if serr := settle(); err == nil {
			err = serr
		}
	}()
	for ctx.Err() == nil {
		items, err := s.ib.pending(ctx, uid)
		if err == nil {
			items, err = s.ready(ctx, uid, items)
		}
		items = prev.without(items)
		if err != nil {
			return progress, err
		}
		if len(items) == 0 {
			if prev == nil {
				return progress, nil
			}
			if err := settle(); err != nil {
				return progress, err
			}
			continue // something may have arrived meanwhile
		}
		progress = true
		p, authorized, err := s.partnerOf(ctx, uid)
		if err != nil {
			return progress, err
		}
		u, err := s.next(ctx, uid, items, authorized)
		if err != nil { // unreadable update: drop it
			s.log.Error("unreadable update dropped", "telegram_id", uid, "update_id", items[0].Payload.UpdateID, "err", err)
			if err := s.ib.complete(ctx, uid, items[0].Payload.UpdateID); err != nil {
				return progress, err
			}
			continue
		}
		if authorized && (u.kind == unitText || u.kind == unitEdited) {
			ps, err := s.aiTurn(ctx, uid, p, u, prev)
			if serr := settle(); serr != nil { // ps (if any) waits for prev itself
				if ps != nil {
					_ = ps.wait()
				}
				return progress, serr
			}
			if err != nil {
				if err := s.unitFailed(ctx, uid, u, err); err != nil {
					return progress, err
				}
			} else if ps != nil {
				prev = ps
				continue
			}
			if err := s.ib.complete(ctx, uid, u.ids()...); err != nil {
				return progress, err
			}
			continue
		}
		if err := settle(); err != nil {
			return progress, err
		}
		if err := s.run(ctx, uid, p, authorized, u); err != nil {
			if err := s.unitFailed(ctx, uid, u, err); err != nil {
				return progress, err
			}
		}
		if err := s.ib.complete(ctx, uid, u.ids()...); err != nil {
			return progress, err
		}
	}
	return progress, ctx.Err()
}

// unitFailed decides about a unit whose run failed: nil means give up on it
// (after maxAttempts; the user gets an apology and the unit leaves the
// inbox), an error leaves it in the inbox for the task's retry.
func (s *Service) unitFailed(ctx context.Context, uid int64, u unit, err error) error {
	if ctx.Err() != nil {
		return err
	}
	n, aerr := s.ib.attempt(ctx, uid, u.lastID())
	if aerr != nil || n < maxAttempts {
		return err
	}
	s.log.Error("giving up on a chat unit after repeated failures", "telegram_id", uid, "update_id", u.lastID(), "attempts", n, "err", err)
	s.metrics.turns.WithLabelValues("given_up").Inc()
	_, _ = s.sendText(ctx, uid, s.tx.ProcessingFailed, nil)
	return nil
}

// without drops the items of the unit being written (still in the inbox
// until the write lands).
func (ps *pendingSave) without(items []item) []item {
	if ps == nil {
		return items
	}
	out := items[:0:0]
	for _, it := range items {
		if !ps.u.has(it.Payload.UpdateID) {
			out = append(out, it)
		}
	}
	return out
}

// ready returns the leading items whose predecessors are done or ahead of
// them in the inbox.
func (s *Service) ready(ctx context.Context, uid int64, items []item) ([]item, error) {
	inInbox := make(map[int64]bool, len(items))
	for _, it := range items {
		inInbox[it.Payload.UpdateID] = true
	}
	for i, it := range items {
		prev := it.Payload.Prev
		if prev == 0 || inInbox[prev] {
			continue
		}
		done, err := s.ib.isDone(ctx, uid, prev)
		if err != nil {
			return nil, err
		}
		if done {
			continue
		}
		if s.now().Sub(it.Payload.ReceivedAt) > gapTimeout {
			s.log.Warn("predecessor update never arrived; going on without it", "telegram_id", uid, "update_id", it.Payload.UpdateID, "prev", prev)
			continue
		}
		return items[:i], nil
	}
	return items, nil
}

func (s *Service) partnerOf(ctx context.Context, uid int64) (domain.Partner, bool, error) {
	p, found, err := s.d.Store.PartnerByTelegramID(ctx, uid)
	if err != nil {
		return p, false, err
	}
	return p, found && p.Authorized(), nil
}

// next cuts the first unit off the inbox. Quick successive texts make one
// unit, but never across the end of a unit an earlier run already answered
// (its reply is recorded under its last update): a re-run after a crash
// forms the same units, so no reply is lost from the history or sent twice.
func (s *Service) next(ctx context.Context, uid int64, items []item, authorized bool) (unit, error) {
	first, err := decode(items[0])
	if err != nil {
		return unit{}, err
	}
	u := unit{items: items[:1], upd: []*telego.Update{first}, kind: s.classify(items[0], first, authorized)}
	if u.kind != unitText || !authorized {
		return u, nil
	}
	ends, err := s.ib.generated(ctx, uid, items)
	if err != nil {
		return unit{}, err
	}
	for i := 1; i < len(items) && !ends[items[i-1].Payload.UpdateID]; i++ {
		up, err := decode(items[i])
		if err != nil || s.classify(items[i], up, true) != unitText {
			break
		}
		u.items = items[:i+1]
		u.upd = append(u.upd, up)
	}
	return u, nil
}

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

func (s *Service) isEscalation(text string) bool {
	t := strings.ToLower(text)
	for _, k := range s.kw {
		if strings.Contains(t, k) {
			return true
		}
	}
	return false
}

// run executes one unit.
func (s *Service) run(ctx context.Context, uid int64, p domain.Partner, authorized bool, u unit) error {
	switch u.kind {
	case unitOperatorReply:
		return s.operatorReply(ctx, uid, p, u)
	case unitOperatorAction:
		return s.operatorAction(ctx, uid, p, u)
	}
	if !authorized {
		s.metrics.turns.WithLabelValues("auth").Inc()
		return s.authorize(ctx, uid, u)
	}
	switch u.kind {
	case unitText, unitEdited:
		ps, err := s.aiTurn(ctx, uid, p, u, nil)
		if err != nil {
			return err
		}
		return ps.wait()
	case unitCommand:
		s.metrics.turns.WithLabelValues("command").Inc()
		return s.command(ctx, uid, p, u)
	case unitEscalate:
		return s.escalate(ctx, uid, p, u)
	case unitCallback:
		if q := u.upd[0].CallbackQuery; q != nil && q.Data == callbackEscalate {
			return s.escalate(ctx, uid, p, u)
		}
		return nil
	case unitContact:
		s.metrics.turns.WithLabelValues("contact").Inc()
		_, err := s.sendOnce(ctx, uid, u.lastID(), "reply", s.tx.Render(s.tx.AlreadyAuthorized, map[string]any{"Name": firstName(p)}), nil)
		return err
	case unitMedia:
		s.metrics.turns.WithLabelValues("media").Inc()
		return s.media(ctx, uid, p, u)
	case unitEmpty:
		_, err := s.sendOnce(ctx, uid, u.lastID(), "reply", s.tx.EmptyText, nil)
		return err
	}
	return nil
}

// ---- AI turn ----

// generated is the outcome of the "gen" step, kept in Redis so a re-run
// sends exactly what was generated before.
type generated struct {
	Kind string    `json:"kind"` // ai, fallback, throttled, forwarded
	Text string    `json:"text,omitempty"`
	Time time.Time `json:"time"`
}

func (s *Service) userTurns(u unit) ([]history.Turn, string) {
	var turns []history.Turn
	var texts []string
	for i := range u.items {
		m := u.message(i)
		text := m.Text
		if text == "" {
			text = m.Caption
		}
		if u.upd[i].EditedMessage != nil {
			text = s.tx.EditedPrefix + text
		}
		texts = append(texts, text)
		turns = append(turns, history.Turn{ID: "u" + strconv.FormatInt(u.items[i].Payload.UpdateID, 10), Role: history.RoleUser,
			Time: msgTime(m), Text: text})
	}
	return turns, strings.Join(texts, "\n")
}

func msgTime(m *telego.Message) time.Time {
	if m == nil || m.Date == 0 {
		return time.Now().Truncate(time.Second)
	}
	if m.EditDate != 0 {
		return time.Unix(m.EditDate, 0)
	}
	return time.Unix(m.Date, 0)
}

// aiTurn answers a unit of text messages. Its sheet write is not waited
// for: it is returned as a pendingSave that runs while the drain goes on
// with the user's next unit (nil when there is nothing to write). prev is
// the save of the unit before, still running: this unit's context adds the
// turns prev is writing, and its own write starts only after prev's, on
// the row prev left (see pipeline.go).
func (s *Service) aiTurn(ctx context.Context, uid int64, p domain.Partner, u unit, prev *pendingSave) (*pendingSave, error) {
	userTurns, question := s.userTurns(u)
	t0 := time.Now()
	s.metrics.stage.WithLabelValues("queued").Observe(t0.Sub(u.items[len(u.items)-1].Payload.ReceivedAt).Seconds())
	raw, found, err := s.d.Store.CurrentAppeal(ctx, uid)
	if err != nil {
		return nil, err
	}
	s.metrics.stage.WithLabelValues("load").Observe(time.Since(t0).Seconds())
	var ap appealState
	if prev != nil {
		ap = s.appealAfter(uid, p, u.message(0).From, userTurns[0].Time, raw, found, &prev.want, prev.turns)
	} else {
		ap = s.appealAfter(uid, p, u.message(0).From, userTurns[0].Time, raw, found, nil, nil)
	}
	aiID := "a" + strconv.FormatInt(u.lastID(), 10)
	if history.Contains(ap.a.History, aiID) {
		return nil, nil // finished before a crash; only the inbox was not cleared
	}
	if ap.a.Status == domain.AppealStatusEscalated {
		if err := prev.wait(); err != nil {
			return nil, err
		}
		ap, err := s.loadAppeal(ctx, uid, p, u.message(0).From, userTurns[0].Time)
		if err != nil {
			return nil, err
		}
		return nil, s.forwardToOperators(ctx, uid, p, ap, u, userTurns)
	}
	t1 := time.Now()
	gen, err := s.generate(ctx, uid, p, u, ap, question)
	if err != nil {
		return nil, err
	}
	s.metrics.stage.WithLabelValues("generate").Observe(time.Since(t1).Seconds())
	turns := append([]history.Turn(nil), userTurns...)
	status := func(ap appealState) domain.AppealStatus { return ap.a.Status }
	switch gen.Kind {
	case "ai":
		t2 := time.Now()
		if err := s.sendReply(ctx, uid, u, gen.Text); err != nil {
			return nil, err
		}
		s.metrics.stage.WithLabelValues("send").Observe(time.Since(t2).Seconds())
		turns = append(turns, history.Turn{ID: aiID, Role: history.RoleAI, Time: gen.Time, Text: gen.Text})
		status = func(appealState) domain.AppealStatus { return domain.AppealStatusAIAnswered }
		s.metrics.merged.Observe(float64(len(u.items)))
		s.metrics.replyDelay.Observe(time.Since(userTurns[len(userTurns)-1].Time).Seconds())
	case "fallback":
		if _, err := s.sendOnce(ctx, uid, u.lastID(), "reply", s.tx.AIFallback, nil); err != nil && !errors.Is(err, errUserBlocked) {
			return nil, err
		}
		// The appeal stays unanswered (Новое) so operators see it.
		turns = append(turns, history.Turn{ID: "s-ai-" + strconv.FormatInt(u.lastID(), 10), Role: history.RoleSystem, Time: gen.Time, Text: s.tx.HistoryAIUnavailable})
		status = func(ap appealState) domain.AppealStatus {
			if !ap.exists {
				return domain.AppealStatusNew
			}
			return ap.a.Status
		}
	case "throttled":
		if ok, _ := s.d.Redis.SetNX(ctx, s.keys.Key("chat", "throttle_notice", uidStr(uid)), 1, time.Minute).Result(); ok {
			if _, err := s.sendOnce(ctx, uid, u.lastID(), "reply", s.tx.Throttled, nil); err != nil && !errors.Is(err, errUserBlocked) {
				return nil, err
			}
		}
		turns = append(turns, history.Turn{ID: "s-th-" + strconv.FormatInt(u.lastID(), 10), Role: history.RoleSystem, Time: gen.Time, Text: s.tx.HistoryThrottled})
	}
	s.metrics.turns.WithLabelValues(gen.Kind).Inc()
	return s.startSave(ctx, uid, p, u, raw, found, ap, turns, status, prev), nil
}

// generate runs the "gen" step once: throttle check, then the model.
func (s *Service) generate(ctx context.Context, uid int64, p domain.Partner, u unit, ap appealState, question string) (generated, error) {
	if v, ok, err := s.ib.stepDone(ctx, uid, u.lastID(), "gen"); err != nil {
		return generated{}, err
	} else if ok {
		var g generated
		if json.Unmarshal([]byte(v), &g) == nil {
			return g, nil
		}
	}
	g := generated{Time: s.now().Truncate(time.Second)}
	limit := s.cfg.Chat.UserMessagesPerMinute
	res, err := s.rate.AllowN(ctx, s.keys.Key("chat", "rate", uidStr(uid)), redis_rate.PerMinute(limit), len(u.items))
	switch {
	case err != nil:
		return g, fmt.Errorf("chat: rate limit: %w", err)
	case res.Allowed == 0:
		g.Kind = "throttled"
	default:
		stopTyping := s.typing(ctx, uid)
		req, err := s.buildRequest(ctx, p, history.Parse(ap.a.History, s.loc), question)
		if err != nil {
			stopTyping()
			return g, err
		}
		text, err := s.d.AI.Generate(ctx, req)
		stopTyping()
		switch {
		case err == nil:
			g.Kind, g.Text = "ai", text
		case errors.Is(err, ai.ErrUnavailable):
			s.log.Warn("AI unavailable; fallback sent", "telegram_id", uid, "err", err)
			g.Kind = "fallback"
		default:
			return g, err
		}
		g.Time = s.now().Truncate(time.Second)
	}
	b, _ := json.Marshal(g)
	return g, s.ib.markStep(ctx, uid, u.lastID(), "gen", string(b))
}

// typing keeps "typing…" visible while the model thinks.
func (s *Service) typing(ctx context.Context, uid int64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		for {
			s.d.Sender.Typing(ctx, uid)
			select {
			case <-ctx.Done():
				return
			case <-time.After(4 * time.Second):
			}
		}
	}()
	return cancel
}

func replyTo(u unit) *telego.ReplyParameters {
	m := u.message(len(u.items) - 1)
	if m == nil {
		return nil
	}
	return &telego.ReplyParameters{MessageID: m.MessageID, AllowSendingWithoutReply: true}
}

// sendReply converts the model's Markdown to Telegram HTML, splits it under
// 4096 characters and sends the parts not sent yet; the first part quotes the
// last message it answers.
func (s *Service) sendReply(ctx context.Context, uid int64, u unit, markdown string) error {
	parts := tghtml.Split(tghtml.FromMarkdown(markdown), tghtml.MaxMessageLen)
	for i, part := range parts {
		var rp *telego.ReplyParameters
		if i == 0 {
			rp = replyTo(u)
		}
		step := "part" + strconv.Itoa(i)
		if _, done, err := s.ib.stepDone(ctx, uid, u.lastID(), step); err != nil {
			return err
		} else if done {
			continue
		}
		params := &telego.SendMessageParams{ChatID: telego.ChatID{ID: uid}, Text: part, ParseMode: telego.ModeHTML, ReplyParameters: rp,
			LinkPreviewOptions: &telego.LinkPreviewOptions{IsDisabled: true}}
		_, err := s.d.Sender.SendMessage(ctx, params, telegram.Options{Priority: telegram.PriorityChat})
		if errors.Is(err, telegram.ErrBadEntities) {
			params.Text, params.ParseMode = tghtml.Plain(part), ""
			_, err = s.d.Sender.SendMessage(ctx, params, telegram.Options{Priority: telegram.PriorityChat})
		}
		if errors.Is(err, telegram.ErrBlocked) {
			return s.blocked(ctx, uid)
		}
		if err != nil {
			return err
		}
		if err := s.ib.markStep(ctx, uid, u.lastID(), step, "1"); err != nil {
			return err
		}
	}
	return nil
}

// ---- appeals in the sheet ----

type appealState struct {
	a      domain.Appeal
	exists bool
}

// loadAppeal reads the user's current appeal now; a closed one (Решено) or
// none means the next line opens a new row.
func (s *Service) loadAppeal(ctx context.Context, uid int64, p domain.Partner, user *telego.User, first time.Time) (appealState, error) {
	a, found, err := s.d.Store.CurrentAppeal(ctx, uid)
	if err != nil {
		return appealState{}, err
	}
	return s.appealAfter(uid, p, user, first, a, found, nil, nil), nil
}

// afterAppeal is the created_at of a new row that follows prev: t to the
// second, but later than prev's. A row is known by (Telegram ID, created_at),
// so a new appeal opened within the second its predecessor was created must
// not take the predecessor's key (it would be mistaken for it, and never
// appended).
func afterAppeal(t time.Time, prev domain.Appeal, hasPrev bool) time.Time {
	t = t.Truncate(time.Second)
	if hasPrev && !t.After(prev.CreatedAt) {
		t = prev.CreatedAt.Truncate(time.Second).Add(time.Second)
	}
	return t
}

// saveAppeal appends turns (skipping ids already there), sets status and
// operator, creates the row if it is new, and rolls over to a continuation
// row before the cell limit.
func (s *Service) saveAppeal(ctx context.Context, uid int64, u unit, ap appealState, turns []history.Turn, status domain.AppealStatus, operator *string) error {
	_, err := s.storeAppeal(ctx, uid, u, ap, turns, status, operator)
	return err
}

// storeAppeal is saveAppeal returning the user's current appeal afterwards
// (the continuation row when one was opened).
func (s *Service) storeAppeal(ctx context.Context, uid int64, u unit, ap appealState, turns []history.Turn, status domain.AppealStatus, operator *string) (domain.Appeal, error) {
	a := ap.a
	if err := fence(ctx); err != nil {
		return a, err
	}
	here, cont := history.SplitForRollover(a.History, turns, history.RolloverLimit, s.loc)
	cell, added := history.Append(a.History, here, s.loc)
	fields := []domain.AppealField{}
	if len(added) > 0 {
		a.History = cell
		fields = append(fields, domain.AppealFieldHistory)
	}
	if status != a.Status {
		a.Status = status
		fields = append(fields, domain.AppealFieldStatus)
	}
	if operator != nil && *operator != a.Operator {
		a.Operator = *operator
		fields = append(fields, domain.AppealFieldOperator)
	}
	a.UpdatedAt = s.now()
	var err error
	switch {
	case !ap.exists:
		a, err = s.createAppeal(ctx, uid, u, a)
	case len(fields) > 0:
		a, err = s.d.Store.UpdateAppeal(ctx, a, fields...)
	}
	if err != nil || len(cont) == 0 {
		return a, err
	}
	// Continuation row: same status, a pointer back, the turns that did not fit.
	next := domain.Appeal{CreatedAt: afterAppeal(cont[0].Time, a, true), UserName: a.UserName, PartnerCode: a.PartnerCode,
		TelegramID: uid, Status: a.Status, Operator: a.Operator, UpdatedAt: s.now()}
	note := history.Turn{ID: "s-cont-" + cont[0].ID, Role: history.RoleSystem, Time: cont[0].Time,
		Text: s.tx.Render(s.tx.HistoryContinued, map[string]any{"Created": a.CreatedAt.In(s.loc).Format("02.01.2006 15:04")})}
	next.History, _ = history.Append("", append([]history.Turn{note}, cont...), s.loc)
	return s.createAppeal(ctx, uid, u, next)
}

// createAppeal appends the row; a marker tells a re-run that an earlier
// attempt may have appended already, so the gateway looks first.
func (s *Service) createAppeal(ctx context.Context, uid int64, u unit, a domain.Appeal) (domain.Appeal, error) {
	step := "create-" + strconv.FormatInt(a.CreatedAt.Unix(), 10)
	_, tried, err := s.ib.stepDone(ctx, uid, u.firstID(), step)
	if err != nil {
		return a, err
	}
	if err := s.ib.markStep(ctx, uid, u.firstID(), step, "1"); err != nil {
		return a, err
	}
	return s.d.Store.CreateAppeal(ctx, a, tried)
}

// ---- sending ----

var errUserBlocked = errors.New("chat: user blocked the bot")

// blocked records that the user blocked the bot; the unit ends there.
func (s *Service) blocked(ctx context.Context, uid int64) error {
	s.metrics.turns.WithLabelValues("blocked").Inc()
	if err := s.d.Store.SetBotBlocked(ctx, uid, s.now()); err != nil {
		return err
	}
	_ = s.d.Projection.RemovePartner(ctx, uid)
	return nil
}

// sendText sends an HTML text (already escaped/rendered) to a chat.
func (s *Service) sendText(ctx context.Context, chatID int64, text string, markup telego.ReplyMarkup) (*telego.Message, error) {
	params := &telego.SendMessageParams{ChatID: telego.ChatID{ID: chatID}, Text: text, ParseMode: telego.ModeHTML, ReplyMarkup: markup,
		LinkPreviewOptions: &telego.LinkPreviewOptions{IsDisabled: true}}
	msg, err := s.d.Sender.SendMessage(ctx, params, telegram.Options{Priority: telegram.PriorityChat})
	if errors.Is(err, telegram.ErrBadEntities) {
		params.Text, params.ParseMode = tghtml.Plain(text), ""
		msg, err = s.d.Sender.SendMessage(ctx, params, telegram.Options{Priority: telegram.PriorityChat})
	}
	if errors.Is(err, telegram.ErrBlocked) && chatID > 0 {
		if berr := s.blocked(ctx, chatID); berr != nil {
			return nil, berr
		}
		return nil, errUserBlocked
	}
	return msg, err
}

// sendOnce sends a text as a recorded step: a re-run does not repeat it.
func (s *Service) sendOnce(ctx context.Context, chatID, updateID int64, step, text string, markup telego.ReplyMarkup) (int, error) {
	uid := chatID
	if v, done, err := s.ib.stepDone(ctx, uid, updateID, step); err != nil {
		return 0, err
	} else if done {
		id, _ := strconv.Atoi(v)
		return id, nil
	}
	msg, err := s.sendText(ctx, chatID, text, markup)
	if errors.Is(err, errUserBlocked) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return msg.MessageID, s.ib.markStep(ctx, uid, updateID, step, strconv.Itoa(msg.MessageID))
}

func firstName(p domain.Partner) string {
	f := strings.Fields(p.FullName)
	switch len(f) {
	case 0:
		return "коллега"
	case 1:
		return f[0]
	default:
		// "Фамилия Имя Отчество" is how Russian sheets list people; "Имя Фамилия" also happens.
		if len(f) == 3 {
			return f[1]
		}
		return f[0]
	}
}

func displayName(p domain.Partner, u *telego.User) string {
	if u != nil && u.Username != "" {
		return "@" + u.Username
	}
	if p.FullName != "" {
		return p.FullName
	}
	if u != nil {
		return strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	return ""
}
