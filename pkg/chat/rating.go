package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/stats"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// The partner's rating of a resolved appeal (issue 18, item 4).
//
// afterResolve asks, once per appeal, with buttons 1..5 under the question
// (callback data "rate:<created_at unix>:<n>"): the appeal is known by
// (Telegram ID, created_at), so a rating given after the partner opened a
// new appeal still lands in the row it is about. Nothing is asked when the
// partner has blocked the bot (Auth bot_blocked_at) or the row has a
// rating already. The question is a recorded step keyed by the appeal, so
// neither a re-run after a crash nor a second resolution path (the sheet's
// Решено after the operator's) asks again; a press is accepted only for an
// appeal that was asked (anything else is a forged button: answered with
// a notice, and a no-op in the partner's chain).
//
// The first press counts: the rating goes into the row's Оценка, the
// question becomes a thank-you with one button, "add a comment", and a
// rating of 1 or 2 is posted to the operators — in the partner's topic in a
// forum (reopened for the post and closed again unless the partner is
// with an operator meanwhile), as a reply to the card in a flat group.
// Later presses change nothing. "Add a comment" ("rate:<created>:c")
// makes the partner's next text message, within ratingCommentWait, the
// comment (Комментарий к оценке) instead of a question to the AI; a low
// rating's comment follows it to the operators.

const (
	ratePrefix        = "rate:"
	rateCommentAction = "c"
	// ratingCommentWait is how long "add a comment" waits for the text.
	ratingCommentWait = time.Hour
)

// ratePress is a rating button's data.
type ratePress struct {
	created int64 // the appeal's created_at, Unix seconds
	score   int   // 1..5; 0 for "add a comment"
}

func (r ratePress) comment() bool { return r.score == 0 }

func parseRate(data string) (ratePress, bool) {
	rest, ok := strings.CutPrefix(data, ratePrefix)
	if !ok {
		return ratePress{}, false
	}
	at, what, ok := strings.Cut(rest, ":")
	created, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || created <= 0 {
		return ratePress{}, false
	}
	if what == rateCommentAction {
		return ratePress{created: created}, true
	}
	n, err := strconv.Atoi(what)
	if err != nil || n < 1 || n > 5 || strconv.Itoa(n) != what {
		return ratePress{}, false
	}
	return ratePress{created: created, score: n}, true
}

func rateData(created int64, what string) string {
	return ratePrefix + strconv.FormatInt(created, 10) + ":" + what
}

// The appeal's rating steps, recorded under the user and the appeal's
// created_at (in the place of an update id).
func rateAsked(uid, created int64) stepRef   { return stepRef{uid, created, "rate-ask"} }
func rateContext(uid, created int64) stepRef { return stepRef{uid, created, "rate-ctx"} }
func rateGiven(uid, created int64) stepRef   { return stepRef{uid, created, "rated"} }

func (s *Service) rateCommentKey(uid int64) string {
	return s.keys.Key("chat", "rate_comment", uidStr(uid))
}

// ratingAsk is what the question's context step keeps: the appeal's row
// (a hint; the row is found by its keys) and the card it was resolved
// under (0: none), for the operators' notice in a flat group.
type ratingAsk struct {
	row, card int
}

func (a ratingAsk) String() string { return strconv.Itoa(a.row) + "|" + strconv.Itoa(a.card) }

func parseRatingAsk(v string) ratingAsk {
	row, card, _ := strings.Cut(v, "|")
	r, _ := strconv.Atoi(row)
	c, _ := strconv.Atoi(card)
	return ratingAsk{row: r, card: c}
}

// rateAfterResolve stamps resolved_at on the partner's resolved appeal
// (once) and asks the rating question (once per appeal).
func (s *Service) rateAfterResolve(ctx context.Context, uid int64, cardID int) error {
	a, found, err := s.d.Store.CurrentAppeal(ctx, uid)
	if err != nil || !found || !a.Closed() {
		return err
	}
	if a.ResolvedAt.IsZero() {
		a.ResolvedAt, a.UpdatedAt = s.now().Truncate(time.Second), s.now()
		if err := fence(ctx); err != nil {
			return err
		}
		if a, err = s.d.Store.UpdateAppeal(ctx, a, domain.AppealFieldResolvedAt); err != nil {
			return err
		}
		if start := resolutionStart(a); !start.IsZero() && !a.ResolvedAt.Before(start) {
			s.supportM.resolution.Observe(a.ResolvedAt.Sub(start).Seconds())
		}
	}
	if a.Rating != 0 {
		return nil
	}
	created := a.CreatedAt.Unix()
	if _, done, err := s.ib.stepDone(ctx, rateAsked(uid, created)); err != nil || done {
		return err
	}
	if blocked, err := s.isBlocked(ctx, uid); err != nil || blocked {
		if blocked {
			s.supportM.questions.WithLabelValues("skipped_blocked").Inc()
		}
		return err
	}
	if err := s.ib.markStep(ctx, rateContext(uid, created), ratingAsk{row: a.Row, card: cardID}.String()); err != nil {
		return err
	}
	id, err := s.sendOnce(ctx, rateAsked(uid, created), s.tx.RatingQuestion, s.ratingButtons(created))
	if err == nil && id != 0 {
		s.supportM.questions.WithLabelValues("asked").Inc()
	}
	return err
}

// resolutionStart is where an appeal's resolution time runs from.
func resolutionStart(a domain.Appeal) time.Time {
	if !a.EscalatedAt.IsZero() {
		return a.EscalatedAt
	}
	return a.CreatedAt
}

func (s *Service) ratingButtons(created int64) *telego.InlineKeyboardMarkup {
	row := make([]telego.InlineKeyboardButton, 0, 5)
	for n := 1; n <= 5; n++ {
		row = append(row, telego.InlineKeyboardButton{Text: s.tx.Render(s.tx.RatingButton, map[string]any{"N": n}), CallbackData: rateData(created, strconv.Itoa(n))})
	}
	return &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{row}}
}

// rateIssued reports whether a rating press is about an appeal the
// presser was asked to rate (HandleCallback: anything else is forged).
func (s *Service) rateIssued(ctx context.Context, q *telego.CallbackQuery) bool {
	r, ok := parseRate(q.Data)
	if !ok {
		return false
	}
	_, done, err := s.ib.stepDone(ctx, rateAsked(q.From.ID, r.created))
	return err == nil && done
}

// rate is a partner's press on the rating question.
func (s *Service) ratePressed(ctx context.Context, uid int64, p domain.Partner, u unit) error {
	q := u.upd[0].CallbackQuery
	r, _ := parseRate(q.Data)
	v, asked, err := s.ib.stepDone(ctx, rateContext(uid, r.created))
	if err != nil {
		return err
	}
	if !asked {
		s.log.Info("rating press for an appeal never asked about; ignored", "telegram_id", uid, "update_id", u.lastID())
		return nil
	}
	ask := parseRatingAsk(v)
	a := domain.Appeal{Row: ask.row, TelegramID: uid, CreatedAt: time.Unix(r.created, 0)}
	given := rateGiven(uid, r.created)
	got, rated, err := s.ib.stepDone(ctx, given)
	if err != nil {
		return err
	}
	score, by := parseRated(got)
	if r.comment() {
		if !rated {
			return nil // a comment only follows a rating
		}
		return s.askComment(ctx, uid, u, q, r.created, score)
	}
	if rated && by != u.lastID() {
		s.metrics.turns.WithLabelValues("rating_repeated").Inc()
		return nil // the first press counts
	}
	if !rated {
		a.Rating, a.UpdatedAt = r.score, s.now()
		if err := fence(ctx); err != nil {
			return err
		}
		if _, err := s.d.Store.UpdateAppeal(ctx, a, domain.AppealFieldRating); err != nil {
			return err
		}
		s.supportM.ratings.WithLabelValues(strconv.Itoa(r.score)).Inc()
		if err := s.ib.markStep(ctx, given, strconv.Itoa(r.score)+"|"+strconv.FormatInt(u.lastID(), 10)); err != nil {
			return err
		}
	}
	if err := s.editRatingMessage(ctx, uid, q, r.score, s.commentButton(r.created)); err != nil {
		return err
	}
	if r.score > stats.LowRating {
		return nil
	}
	text := s.tx.Render(s.tx.RatingLowOperators, map[string]any{"Rating": r.score, "Name": tghtml.Escape(p.FullName),
		"Code": tghtml.Escape(p.Code), "Created": a.CreatedAt.In(s.loc).Format("02.01.2006 15:04")})
	return s.tellOperatorsAboutRating(ctx, stepRef{uid, r.created, "rate-low"}, ask.card, text)
}

func parseRated(v string) (score int, by int64) {
	a, b, _ := strings.Cut(v, "|")
	score, _ = strconv.Atoi(a)
	by, _ = strconv.ParseInt(b, 10, 64)
	return score, by
}

func (s *Service) commentButton(created int64) *telego.InlineKeyboardMarkup {
	return &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{
		{{Text: s.tx.RatingCommentButton, CallbackData: rateData(created, rateCommentAction)}}}}
}

// editRatingMessage turns the question into the thank-you (kb: its
// buttons, nil for none). A message gone or not changed is fine.
func (s *Service) editRatingMessage(ctx context.Context, uid int64, q *telego.CallbackQuery, score int, kb *telego.InlineKeyboardMarkup) error {
	if q.Message == nil {
		return nil
	}
	err := telegram.EditText(ctx, s.d.Sender, telegram.Edit{ChatID: uid, MessageID: q.Message.GetMessageID(),
		Body: s.tx.Render(s.tx.RatingThanks, map[string]any{"Rating": score}), Markup: kb, Marker: s.tx.TrimmedMarker})
	switch {
	case err == nil, errors.Is(err, telegram.ErrNotModified), errors.Is(err, telegram.ErrMessageGone):
		return nil
	case errors.Is(err, telegram.ErrBlocked):
		return s.blocked(ctx, uid)
	case telegram.Permanent(err):
		s.log.Warn("rating question not edited", "telegram_id", uid, "err", err)
		return nil
	}
	return err
}

// tellOperatorsAboutRating posts a rating notice to the operators: into
// the partner's topic in a forum (closed again afterwards unless an
// operator has the partner now), as a reply to the card in a flat group.
func (s *Service) tellOperatorsAboutRating(ctx context.Context, step stepRef, card int, text string) error {
	err := s.toGroup(ctx, step.uid, func(thread int) error {
		replyTo := 0
		if thread == 0 {
			replyTo = card
		}
		_, err := s.post(ctx, outgoing{step: step, chat: s.o.OperatorsChatID, thread: thread, body: text, replyTo: replyTo})
		return err
	})
	if undeliverable(err) {
		s.log.Error("rating notice refused by the operators' group", "telegram_id", step.uid, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	cur, found, err := s.d.Store.CurrentAppeal(ctx, step.uid)
	if err != nil || found && cur.Status == domain.AppealStatusEscalated {
		return err
	}
	return s.closeTopic(ctx, step.uid)
}

// askComment: the next text of the partner is the comment.
func (s *Service) askComment(ctx context.Context, uid int64, u unit, q *telego.CallbackQuery, created int64, score int) error {
	if err := s.d.Redis.Set(ctx, s.rateCommentKey(uid), created, ratingCommentWait).Err(); err != nil {
		return fmt.Errorf("chat: rating comment: %w", err)
	}
	if err := s.editRatingMessage(ctx, uid, q, score, nil); err != nil {
		return err
	}
	_, err := s.sendOnce(ctx, stepRef{uid, u.lastID(), "reply"}, s.tx.RatingCommentPrompt, nil)
	return err
}

// pendingComment reports whether a unit of texts is a rating comment: the
// partner pressed "add a comment" (or a re-run of the unit that took it).
// It gives the appeal's created_at.
func (s *Service) pendingComment(ctx context.Context, uid int64, u unit) (int64, bool, error) {
	if v, done, err := s.ib.stepDone(ctx, stepRef{uid, u.lastID(), "rate-comment"}); err != nil || done {
		created, _ := strconv.ParseInt(v, 10, 64)
		return created, done && created > 0, err
	}
	created, err := s.d.Redis.Get(ctx, s.rateCommentKey(uid)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("chat: rating comment: %w", err)
	}
	return created, created > 0, nil
}

// ratingComment writes the unit's text as the appeal's rating comment,
// thanks the partner, and passes a low rating's comment to the operators.
func (s *Service) ratingComment(ctx context.Context, uid int64, p domain.Partner, u unit, created int64) error {
	s.metrics.turns.WithLabelValues("rating_comment").Inc()
	if err := s.ib.markStep(ctx, stepRef{uid, u.lastID(), "rate-comment"}, strconv.FormatInt(created, 10)); err != nil {
		return err
	}
	if err := s.d.Redis.Del(ctx, s.rateCommentKey(uid)).Err(); err != nil {
		return fmt.Errorf("chat: rating comment: %w", err)
	}
	v, _, err := s.ib.stepDone(ctx, rateContext(uid, created))
	if err != nil {
		return err
	}
	got, _, err := s.ib.stepDone(ctx, rateGiven(uid, created))
	if err != nil {
		return err
	}
	score, _ := parseRated(got)
	ask := parseRatingAsk(v)
	_, comment := s.userTurns(u)
	a := domain.Appeal{Row: ask.row, TelegramID: uid, CreatedAt: time.Unix(created, 0), RatingComment: comment, UpdatedAt: s.now()}
	if err := fence(ctx); err != nil {
		return err
	}
	if _, err := s.d.Store.UpdateAppeal(ctx, a, domain.AppealFieldRatingComment); err != nil {
		return err
	}
	if _, err := s.sendOnce(ctx, stepRef{uid, u.lastID(), "reply"}, s.tx.RatingCommentThanks, nil); err != nil {
		return err
	}
	if score == 0 || score > stats.LowRating {
		return nil
	}
	text := s.tx.Render(s.tx.RatingCommentOperators, map[string]any{"Rating": score, "Name": tghtml.Escape(p.FullName),
		"Code": tghtml.Escape(p.Code), "Text": tghtml.Escape(a.RatingComment)})
	return s.tellOperatorsAboutRating(ctx, stepRef{uid, u.lastID(), "rate-low-comment"}, ask.card, text)
}

// stampEscalated sets escalated_at on an appeal handed to a human for the
// first time (a later escalation of the same row keeps the first); it
// returns the field to write.
func (s *Service) stampEscalated(a *domain.Appeal) []domain.AppealField {
	if !a.EscalatedAt.IsZero() {
		return nil
	}
	a.EscalatedAt = s.now().Truncate(time.Second)
	return []domain.AppealField{domain.AppealFieldEscalatedAt}
}

// stampFirstResponse sets first_response_at on an escalated appeal's first
// operator message (at); it returns the field to write.
func (s *Service) stampFirstResponse(ap *appealState, at time.Time) []domain.AppealField {
	if !ap.exists || ap.a.EscalatedAt.IsZero() || !ap.a.FirstResponseAt.IsZero() {
		return nil
	}
	if at.Before(ap.a.EscalatedAt) {
		at = ap.a.EscalatedAt
	}
	ap.a.FirstResponseAt = at
	return []domain.AppealField{domain.AppealFieldFirstResponseAt}
}
