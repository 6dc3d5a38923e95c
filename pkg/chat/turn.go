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
)

// The AI turn: a unit of an authorized user's texts is answered by the
// model (or by the fallback when the model is out of reach, or not at all
// when the user floods), and the user's lines and the outcome go into the
// appeal's history.

// generated is the outcome of the "gen" step, kept in Redis so a re-run
// sends exactly what was generated before.
type generated struct {
	Kind string    `json:"kind"` // ai, fallback, throttled, no_answer
	Text string    `json:"text,omitempty"`
	Time time.Time `json:"time"`
	// Truncated: the model hit its output cap; Text ends at a sentence with the note.
	Truncated bool `json:"truncated,omitempty"`
	// Blocked: the model refused (safety, recitation, a blocked request…).
	Blocked bool `json:"blocked,omitempty"`
	// Reason is why there is no answer (a finish reason, "пустой ответ"…).
	Reason string `json:"reason,omitempty"`
}

// userTurns are the unit's messages as history lines (id "u<update id>"),
// and the question for the model (their texts, one a line).
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

// msgTime is when the user wrote (or last edited) the message.
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
	userTurns, _ := s.userTurns(u)
	t0 := time.Now()
	s.metrics.stage.WithLabelValues("queued").Observe(t0.Sub(u.items[len(u.items)-1].Payload.ReceivedAt).Seconds())
	raw, found, err := s.d.Store.CurrentAppeal(ctx, uid)
	if err != nil {
		return nil, err
	}
	s.metrics.stage.WithLabelValues("load").Observe(time.Since(t0).Seconds())
	open := opening{uid: uid, partner: p, user: u.message(0).From, first: userTurns[0].Time}
	read := sheetAppeal{a: raw, found: found}
	var prior *priorWrite
	if prev != nil {
		prior = &priorWrite{a: prev.want, turns: prev.turns}
	}
	ap := s.appealAfter(open, read, prior)
	if history.Contains(ap.a.History, aiID(u)) {
		return nil, nil // finished before a crash; only the inbox was not cleared
	}
	meanwhile := false // out of hours the AI may answer a partner who waits for a person (hours.go)
	if ap.a.Status == domain.AppealStatusEscalated {
		if meanwhile, err = s.aiMeanwhile(ctx, uid, u); err != nil {
			return nil, err
		}
	}
	if ap.a.Status == domain.AppealStatusEscalated && !meanwhile {
		if err := prev.wait(); err != nil {
			return nil, err
		}
		ap, err := s.loadAppeal(ctx, open)
		if err != nil {
			return nil, err
		}
		return nil, s.forwardToOperators(ctx, forward{uid: uid, p: p, ap: ap, u: u, turns: userTurns})
	}
	t1 := time.Now()
	gen, err := s.generate(ctx, uid, p, u, ap)
	if err != nil {
		return nil, err
	}
	s.metrics.stage.WithLabelValues("generate").Observe(time.Since(t1).Seconds())
	job := saveJob{open: open, u: u, read: read, ap: ap}
	if err := s.deliver(ctx, uid, gen, &job, userTurns); err != nil {
		return nil, err
	}
	if meanwhile {
		if err := s.meanwhileToOperators(ctx, uid, p, &job, userTurns, gen); err != nil {
			return nil, err
		}
	}
	s.metrics.turns.WithLabelValues(gen.Kind).Inc()
	return s.startSave(ctx, job, prev), nil
}

// aiID is the history id of the AI's answer to a unit.
func aiID(u unit) string { return "a" + strconv.FormatInt(u.lastID(), 10) }

// deliver sends the generated outcome to the user and fills in what the
// unit's write adds to the history (job.turns) and the status it sets:
// an answer — the user's lines and the AI's (and a system line if it was
// cut), Ответ ИИ; the fallback or no answer — the user's lines and a system
// line, the status as it was (Новое for a new appeal, so operators see it);
// throttled — the user's lines and a system line, one notice a minute.
func (s *Service) deliver(ctx context.Context, uid int64, gen generated, job *saveJob, userTurns []history.Turn) error {
	u := job.u
	job.turns = append([]history.Turn(nil), userTurns...)
	job.status = func(ap appealState) domain.AppealStatus { return ap.a.Status }
	unanswered := func(ap appealState) domain.AppealStatus {
		if !ap.exists {
			return domain.AppealStatusNew
		}
		return ap.a.Status
	}
	reply := stepRef{uid, u.lastID(), "reply"}
	system := func(prefix, text string) history.Turn {
		return history.Turn{ID: prefix + strconv.FormatInt(u.lastID(), 10), Role: history.RoleSystem, Time: gen.Time, Text: text}
	}
	switch gen.Kind {
	case "ai":
		return s.deliverAnswer(ctx, uid, gen, job, userTurns)
	case "fallback":
		if _, err := s.sendOnce(ctx, reply, s.tx.AIFallback, nil); err != nil {
			return err
		}
		// The appeal stays unanswered (Новое) so operators see it.
		job.turns = append(job.turns, system("s-ai-", s.tx.HistoryAIUnavailable))
		job.status = unanswered
	case kindNoAnswer:
		text := s.tx.AIEmpty
		if gen.Blocked {
			text = s.tx.AIBlocked
		}
		if _, err := s.sendOnce(ctx, reply, text, nil); err != nil {
			return err
		}
		job.turns = append(job.turns, system("s-na-", s.tx.Render(s.tx.HistoryAINoAnswer, map[string]any{"Reason": gen.Reason})))
		job.status = unanswered
	case "throttled":
		if ok, _ := s.d.Redis.SetNX(ctx, s.keys.Key("chat", "throttle_notice", uidStr(uid)), 1, time.Minute).Result(); ok {
			if _, err := s.sendOnce(ctx, reply, s.tx.Throttled, nil); err != nil {
				return err
			}
		}
		job.turns = append(job.turns, system("s-th-", s.tx.HistoryThrottled))
	}
	return nil
}

// deliverAnswer sends the model's answer (in parts when long). Should
// Telegram refuse it for good, the history keeps the answer with a line
// saying it did not reach the partner, and the appeal stays unanswered.
func (s *Service) deliverAnswer(ctx context.Context, uid int64, gen generated, job *saveJob, userTurns []history.Turn) error {
	u := job.u
	t2 := time.Now()
	err := s.sendReply(ctx, uid, u, gen.Text)
	if err != nil && !undeliverable(err) {
		return err
	}
	s.metrics.stage.WithLabelValues("send").Observe(time.Since(t2).Seconds())
	job.turns = append(job.turns, history.Turn{ID: aiID(u), Role: history.RoleAI, Time: gen.Time, Text: gen.Text})
	if gen.Truncated {
		job.turns = append(job.turns, history.Turn{ID: "s-cut-" + strconv.FormatInt(u.lastID(), 10), Role: history.RoleSystem, Time: gen.Time, Text: s.tx.HistoryAITruncated})
	}
	if err != nil {
		s.log.Error("AI answer not delivered: Telegram refused it for good", "telegram_id", uid, "update_id", u.lastID(), "err", err)
		job.turns = append(job.turns, history.Turn{ID: "s-nd-" + strconv.FormatInt(u.lastID(), 10), Role: history.RoleSystem, Time: gen.Time,
			Text: s.tx.Render(s.tx.HistoryUndelivered, map[string]any{"Reason": s.reason(err)})})
		job.status = func(ap appealState) domain.AppealStatus {
			if !ap.exists {
				return domain.AppealStatusNew
			}
			return ap.a.Status
		}
		return nil
	}
	job.status = func(appealState) domain.AppealStatus { return domain.AppealStatusAIAnswered }
	s.metrics.merged.Observe(float64(len(u.items)))
	s.metrics.replyDelay.Observe(time.Since(userTurns[len(userTurns)-1].Time).Seconds())
	return nil
}

// generate runs the "gen" step once: throttle check, then the model, asked
// the unit's messages in the context of the appeal ap.
func (s *Service) generate(ctx context.Context, uid int64, p domain.Partner, u unit, ap appealState) (generated, error) {
	step := stepRef{uid, u.lastID(), "gen"}
	if v, ok, err := s.ib.stepDone(ctx, step); err != nil {
		return generated{}, err
	} else if ok {
		var g generated
		if json.Unmarshal([]byte(v), &g) == nil {
			return g, nil
		}
	}
	g := generated{Time: s.now().Truncate(time.Second)}
	limit := s.o.UserMessagesPerMinute
	res, err := s.rate.AllowN(ctx, s.keys.Key("chat", "rate", uidStr(uid)), redis_rate.PerMinute(limit), len(u.items))
	switch {
	case err != nil:
		return g, fmt.Errorf("chat: rate limit: %w", err)
	case res.Allowed == 0:
		g.Kind = "throttled"
	default:
		stopTyping := s.typing(ctx, uid)
		_, question := s.userTurns(u)
		req, err := s.buildRequest(ctx, p, history.Parse(ap.a.History, s.loc), question)
		if err != nil {
			stopTyping()
			return g, err
		}
		ans, err := s.ask(ctx, uid, u, req) // stream.go
		stopTyping()
		switch {
		case err == nil:
			g = s.fromAnswer(g, ans)
		case errors.Is(err, ai.ErrUnavailable):
			s.log.Warn("AI unavailable; fallback sent", "telegram_id", uid, "err", err)
			g.Kind = "fallback"
		default:
			return g, err
		}
		g.Time = s.now().Truncate(time.Second)
	}
	b, _ := json.Marshal(g)
	return g, s.ib.markStep(ctx, step, string(b))
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
