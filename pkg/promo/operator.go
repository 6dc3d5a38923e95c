package promo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram"
)

const (
	callbackPrefix  = "promo:"
	callbackConfirm = "go"
	callbackCancel  = "no"
	// dryRunMarkerTTL: a retried /promo task within this time does not post
	// a second dry run.
	dryRunMarkerTTL = 24 * time.Hour
)

// HandleOperatorCommand handles "/promo <id>" (or "/promo@bot <id>") in the
// operators' group: a dry run that shows the audience and the recipient
// count, with buttons to start the broadcast or not. handled is false for
// any other message, which the caller then treats as its own.
func (s *Service) HandleOperatorCommand(ctx context.Context, msg *telego.Message) (handled bool, err error) {
	group := s.o.OperatorsChatID
	if msg == nil || group == 0 || msg.Chat.ID != group {
		return false, nil
	}
	fields := strings.Fields(msg.Text)
	if len(fields) == 0 {
		return false, nil
	}
	cmd, addressee, _ := strings.Cut(fields[0], "@")
	if !strings.EqualFold(cmd, "/promo") {
		return false, nil
	}
	if addressee != "" {
		if name := s.botUsername(ctx); name != "" && !strings.EqualFold(addressee, name) {
			return false, nil // meant for another bot in the group
		}
	}
	marker := s.keys.Key("promo", "dryrun", strconv.FormatInt(group, 10), strconv.Itoa(msg.MessageID))
	if n, err := s.d.Redis.Exists(ctx, marker).Result(); err != nil {
		return true, promoErr("dry run", "marker", err)
	} else if n > 0 {
		return true, nil // answered already; this is a retried task
	}

	text, kb, err := s.dryRun(ctx, fields[1:])
	if err != nil {
		return true, err
	}
	// Plain text through the text path: an answer quoting a long argument
	// goes in parts, the buttons under the last.
	reply := telegram.Text{ChatID: group, ThreadID: msg.MessageThreadID, Body: text, Plain: true, ReplyTo: msg.MessageID}
	if kb != nil { // a nil *InlineKeyboardMarkup in the interface would go out as "null"
		reply.Markup = kb
	}
	_, err = telegram.SendText(ctx, s.d.Sender, reply, telegram.Options{Priority: telegram.PriorityChat})
	if err != nil {
		if permanent(err) || telegram.Permanent(err) {
			s.d.Log.Error("promo: dry run reply refused by Telegram; not retried", "err", err)
			return true, fmt.Errorf("promo: dry run reply: %w: %w", err, asynq.SkipRetry)
		}
		return true, fmt.Errorf("promo: dry run reply: %w", err)
	}
	if err := s.d.Redis.Set(ctx, marker, "1", dryRunMarkerTTL).Err(); err != nil {
		s.d.Log.Warn("promo: remember dry run", "err", err)
	}
	return true, nil
}

// dryRun builds the answer to /promo: usage, not found, bad status,
// already sent, or the count with the confirmation buttons.
func (s *Service) dryRun(ctx context.Context, args []string) (string, *telego.InlineKeyboardMarkup, error) {
	tx := s.d.Texts
	if len(args) == 0 {
		return s.render(tx.PromoUsage, nil), nil, nil
	}
	id := args[0]
	p, err := s.d.Store.Promotion(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return s.render(tx.PromoNotFound, map[string]any{"ID": id}), nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	if p.Status != domain.PromotionDraft && p.Status != domain.PromotionScheduled {
		return s.render(tx.PromoBadStatus, map[string]any{"Title": titleOf(p), "Status": string(p.Status)}), nil, nil
	}
	st, err := s.loadState(ctx, id)
	if err != nil {
		return "", nil, err
	}
	if st.Phase == phaseDone || (st.Phase == phaseSending && st.Cancelled) {
		return s.render(tx.PromoRepeated, map[string]any{"Title": titleOf(p), "ID": p.ID}), nil, nil
	}
	partners, err := s.d.Store.RefreshPartners(ctx)
	if err != nil {
		return "", nil, err
	}
	text := s.render(tx.PromoDryRun, map[string]any{
		"Title": titleOf(p), "ID": p.ID, "Audience": audienceLabel(p.Audience), "Count": len(selectRecipients(p, partners)),
	})
	kb := &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{{
		{Text: tx.PromoConfirmButton, CallbackData: callbackPrefix + callbackConfirm + ":" + p.ID},
		{Text: tx.PromoCancelButton, CallbackData: callbackPrefix + callbackCancel + ":" + p.ID},
	}}}
	return text, kb, nil
}

// HandleOperatorCallback handles the dry run's buttons (callback data
// "promo:go:<id>" and "promo:no:<id>"): confirm starts the broadcast with the
// presser as its operator, cancel dismisses it; either way the dry-run
// message is edited (its buttons removed) and the query answered. handled
// is false for callback data that is not ours.
func (s *Service) HandleOperatorCallback(ctx context.Context, q *telego.CallbackQuery) (handled bool, err error) {
	if q == nil || !strings.HasPrefix(q.Data, callbackPrefix) {
		return false, nil
	}
	action, id, ok := strings.Cut(strings.TrimPrefix(q.Data, callbackPrefix), ":")
	group := s.o.OperatorsChatID
	if !ok || id == "" || q.Message == nil || group == 0 || q.Message.GetChat().ID != group ||
		(action != callbackConfirm && action != callbackCancel) {
		s.answer(ctx, q)
		return true, nil
	}
	text, err := s.decide(ctx, action, id, operatorName(q.From))
	if err != nil {
		return true, err
	}
	err = telegram.EditText(ctx, s.d.Sender, telegram.Edit{ChatID: group, MessageID: q.Message.GetMessageID(), Body: text, Plain: true})
	if err != nil && !errors.Is(err, telegram.ErrNotModified) && !errors.Is(err, telegram.ErrMessageGone) {
		return true, fmt.Errorf("promo: edit dry run: %w", err)
	}
	s.answer(ctx, q)
	return true, nil
}

// decide carries out a press and returns the dry-run message's new text.
func (s *Service) decide(ctx context.Context, action, id, operator string) (string, error) {
	tx := s.d.Texts
	p, err := s.d.Store.Promotion(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return s.render(tx.PromoNotFound, map[string]any{"ID": id}), nil
	}
	if err != nil {
		return "", err
	}
	if action == callbackCancel {
		return s.render(tx.PromoDismissed, map[string]any{"Title": titleOf(p)}), nil
	}
	st, err := s.loadState(ctx, id)
	if err != nil {
		return "", err
	}
	running := (st.Phase == phaseStarting || st.Phase == phaseSending) && !st.Cancelled
	if p.Status != domain.PromotionDraft && p.Status != domain.PromotionScheduled && !(running && p.Status == domain.PromotionSending) {
		return s.render(tx.PromoBadStatus, map[string]any{"Title": titleOf(p), "Status": string(p.Status)}), nil
	}
	if err := s.start(ctx, p, operator); errors.Is(err, errAlreadySent) {
		return s.render(tx.PromoRepeated, map[string]any{"Title": titleOf(p), "ID": p.ID}), nil
	} else if err != nil {
		return "", err
	}
	s.d.Log.Info("promo: broadcast confirmed in the operators' group", "promotion_id", id, "operator", operator)
	partners, err := s.d.Store.Partners(ctx)
	if err != nil {
		return "", err
	}
	return s.render(tx.PromoStarted, map[string]any{
		"Title": titleOf(p), "Operator": operator, "Count": len(selectRecipients(p, partners)),
	}), nil
}

func (s *Service) answer(ctx context.Context, q *telego.CallbackQuery) {
	if err := s.d.Sender.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: q.ID}); err != nil {
		// Typically "query is too old" after a retry: the press was handled.
		s.d.Log.Debug("promo: answer callback query", "err", err)
	}
}

func operatorName(u telego.User) string {
	if name := strings.TrimSpace(u.FirstName + " " + u.LastName); name != "" {
		return name
	}
	if u.Username != "" {
		return "@" + u.Username
	}
	return strconv.FormatInt(u.ID, 10)
}
