package promo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/hibiken/asynq"
	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// HandleSend (tasks.TypePromoSend) delivers one promotion to one recipient,
// at most once, and records the outcome.
func (s *Service) HandleSend(ctx context.Context, t *asynq.Task) error {
	pl, err := tasks.ParsePromoSend(t)
	if err != nil {
		return err
	}
	id, uid := pl.PromotionID, pl.TelegramID
	pre, err := s.precheck(ctx, id, uid)
	if err != nil {
		return err
	}
	switch {
	case pre.st.Phase == "":
		return fmt.Errorf("promo: send %s to %d: no broadcast state (expired?): %w", id, uid, asynq.SkipRetry)
	case pre.processed:
		// Done before; finish what the earlier attempt may have left.
		if pre.blockPending {
			if err := s.markBlocked(ctx, id, uid); err != nil {
				return err
			}
		}
		if pre.count >= pre.st.Total && !pre.st.Finalized {
			return s.report(ctx, id, true)
		}
		return nil
	case pre.st.Phase == phaseDone:
		return nil // finalized: a stray task must not send after the row says Отправлено
	case pre.claimed:
		s.d.Log.Warn("promo: an earlier attempt died during the Bot API call; counting the recipient as sent rather than risk a second message",
			"promotion_id", id, "telegram_id", uid)
		return s.finish(ctx, id, uid, outcomeSent)
	case pre.st.Cancelled:
		return s.finish(ctx, id, uid, outcomeSkipped)
	}

	if lim := s.d.Limiter; lim != nil {
		d, err := lim.Wait(ctx, uid, telegram.PriorityBroadcast, sendMaxWait)
		if err != nil {
			return err
		}
		if d > 0 {
			return tasks.RetryAfter(d, "telegram limiter")
		}
	}
	c, err := s.claim(ctx, id, uid)
	if err != nil {
		return err
	}
	switch c {
	case claimDone:
		return nil
	case claimCancelled:
		return s.finish(ctx, id, uid, outcomeSkipped)
	case claimTaken:
		// Another run of this task is in the call right now (a lease lost
		// while the worker lived): it records the outcome; check back later.
		return tasks.RetryAfter(sendMaxWait*5, "promotion send in progress elsewhere")
	}

	err = s.deliver(ctx, id, uid, pre.st)
	var flood *telegram.FloodError
	switch {
	case err == nil:
		return s.finish(ctx, id, uid, outcomeSent)
	case errors.Is(err, telegram.ErrBlocked):
		if _, err := s.mark(ctx, id, uid, outcomeBlocked); err != nil {
			return err
		}
		if err := s.markBlocked(ctx, id, uid); err != nil {
			return err
		}
		return s.after(ctx, id)
	case errors.As(err, &flood):
		s.release(ctx, id, uid)
		return tasks.RetryAfter(flood.RetryAfter, "telegram flood control")
	case permanent(err):
		s.d.Log.Warn("promo: send failed permanently", "promotion_id", id, "telegram_id", uid, "err", err)
		return s.finish(ctx, id, uid, outcomeFailed)
	case ctx.Err() != nil:
		// Stopped (shutdown, timeout) without an answer: the request may have
		// gone out. Keep the claim so that the retry counts it instead of
		// sending again.
		return err
	default:
		// Telegram answered with an error, or the network failed while the
		// task is alive (an outage must not count everyone as sent): retry.
		s.release(ctx, id, uid)
		if lastRetry(ctx) {
			s.d.Log.Warn("promo: send failed after the last retry", "promotion_id", id, "telegram_id", uid, "err", err)
			return s.finish(ctx, id, uid, outcomeFailed)
		}
		return fmt.Errorf("promo: send %s to %d: %w", id, uid, err)
	}
}

type precheck struct {
	st           state
	processed    bool
	claimed      bool
	blockPending bool
	count        int
}

func (s *Service) precheck(ctx context.Context, id string, uid int64) (precheck, error) {
	member := strconv.FormatInt(uid, 10)
	pipe := s.d.Redis.Pipeline()
	all := pipe.HGetAll(ctx, s.stateKey(id))
	processed := pipe.SIsMember(ctx, s.processedKey(id), member)
	claimed := pipe.HExists(ctx, s.claimsKey(id), member)
	blocked := pipe.SIsMember(ctx, s.blockedKey(id), member)
	count := pipe.SCard(ctx, s.processedKey(id))
	if _, err := pipe.Exec(ctx); err != nil {
		return precheck{}, promoErr("load send state", id, err)
	}
	return precheck{st: parseState(all.Val()), processed: processed.Val(), claimed: claimed.Val(),
		blockPending: blocked.Val(), count: int(count.Val())}, nil
}

// finish records an outcome and runs what follows it (progress, the end).
func (s *Service) finish(ctx context.Context, id string, uid int64, outcome string) error {
	if _, err := s.mark(ctx, id, uid, outcome); err != nil {
		return err
	}
	return s.after(ctx, id)
}

// after writes progress every s.o.ProgressEvery processed recipients and finalizes
// the broadcast when everyone is processed.
func (s *Service) after(ctx context.Context, id string) error {
	pipe := s.d.Redis.Pipeline()
	count := pipe.SCard(ctx, s.processedKey(id))
	total := pipe.HGet(ctx, s.stateKey(id), "total")
	if _, err := pipe.Exec(ctx); err != nil {
		return promoErr("progress", id, err)
	}
	n := int(count.Val())
	all, _ := strconv.Atoi(total.Val())
	switch {
	case n >= all:
		return s.report(ctx, id, true)
	case n%s.o.ProgressEvery == 0:
		if err := s.report(ctx, id, false); err != nil {
			s.d.Log.Warn("promo: progress write failed; the next one catches up", "promotion_id", id, "err", err)
		}
	}
	return nil
}

// markBlocked writes Auth G for a recipient who blocked the bot and drops
// their projection. The pending mark survives in Redis until it succeeds,
// so a retry of the task finishes it without sending again.
func (s *Service) markBlocked(ctx context.Context, id string, uid int64) error {
	err := s.d.Store.SetBotBlocked(ctx, uid, s.now())
	if err == nil {
		err = s.d.Projection.RemovePartner(ctx, uid)
	}
	if err != nil {
		if !lastRetry(ctx) {
			return fmt.Errorf("promo: mark %d blocked: %w", uid, err)
		}
		s.d.Log.Error("promo: could not write bot_blocked_at; giving up", "promotion_id", id, "telegram_id", uid, "err", err)
	}
	if err := s.d.Redis.SRem(context.WithoutCancel(ctx), s.blockedKey(id), uid).Err(); err != nil {
		return promoErr("clear pending block", id, err)
	}
	return nil
}

// deliver sends the promotion: a photo with the text as caption when there
// is an image and the text fits a caption, else the text — in several
// messages when it is longer than one may be (split at paragraphs and
// sentences by the text path, the image as the first one's link preview,
// the button under the last); HTML unless Telegram rejected it for this
// broadcast. The button opens the Mini App's promotions screen. A
// recipient's parts that left are recorded, so a retry (after a flood wait,
// say) sends only the rest.
func (s *Service) deliver(ctx context.Context, id string, uid int64, st state) error {
	api := &paced{s: s, uid: uid}
	plain, noPhoto := st.Plain, st.NoPhoto
	for {
		photo := st.Image != "" && !noPhoto && tghtml.VisibleLen(st.Text) <= maxCaption
		var err error
		if photo {
			err = s.sendPhoto(ctx, api, uid, st, plain)
		} else {
			var sent telegram.Sent
			sent, err = s.sendText(ctx, api, id, uid, st, plain)
			if sent.Plain && !plain {
				// The text is the same for everyone: switch the broadcast to plain text.
				s.flag(ctx, id, "plain")
				s.d.Log.Warn("promo: Telegram rejected the promotion's HTML; sending plain text", "promotion_id", id)
			}
		}
		var apiErr *ta.Error
		switch {
		case errors.Is(err, telegram.ErrBadEntities) && !plain:
			plain = true
			s.flag(ctx, id, "plain")
			s.d.Log.Warn("promo: Telegram rejected the promotion's HTML; sending plain text", "promotion_id", id, "err", err)
		case photo && !errors.Is(err, telegram.ErrBlocked) && !errors.Is(err, telegram.ErrChatNotFound) &&
			errors.As(err, &apiErr) && apiErr.ErrorCode == 400:
			noPhoto = true
			s.flag(ctx, id, "nophoto")
			s.d.Log.Warn("promo: Telegram rejected the promotion's image; sending text messages", "promotion_id", id, "err", err)
		default:
			return err
		}
	}
}

func (s *Service) flag(ctx context.Context, id, field string) {
	if err := s.d.Redis.HSet(ctx, s.stateKey(id), field, "1").Err(); err != nil {
		s.d.Log.Warn("promo: remember fallback", "promotion_id", id, "field", field, "err", err)
	}
}

func (s *Service) button() *telego.InlineKeyboardMarkup {
	return &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{{
		{Text: s.d.Texts.PromoOpenButton, WebApp: &telego.WebAppInfo{URL: s.appURL}},
	}}}
}

var broadcastSend = telegram.Options{Priority: telegram.PriorityBroadcast, MaxWait: sendMaxWait}

// sendPhoto sends the image with the whole text as its caption (it fits).
func (s *Service) sendPhoto(ctx context.Context, api *paced, uid int64, st state, plain bool) error {
	_, err := telegram.SendMedia(ctx, api, telegram.Media{ChatID: uid, Kind: telegram.MediaPhoto, File: telego.InputFile{URL: st.Image},
		Caption: promoBody(st.Text, plain), Plain: plain, Markup: s.button()}, broadcastSend)
	return err
}

// sendText sends the text in as many messages as it takes.
func (s *Service) sendText(ctx context.Context, api *paced, id string, uid int64, st state, plain bool) (telegram.Sent, error) {
	t := telegram.Text{ChatID: uid, Body: promoBody(st.Text, plain), Plain: plain, Markup: s.button(), LinkPreviews: true}
	if st.Image != "" {
		// Too long for a caption (or the photo was refused): show the image
		// as the link preview above the text.
		t.Preview = &telego.LinkPreviewOptions{URL: st.Image, PreferLargeMedia: true, ShowAboveText: true}
	}
	if parts, _ := telegram.PlanText(t); len(parts) > 1 {
		t.Steps = promoParts{s: s, id: id, uid: uid}
	}
	return telegram.SendText(ctx, api, t, broadcastSend)
}

// promoBody is the promotion's text as the path takes it: Telegram HTML as
// authored, or its visible text once the broadcast went plain.
func promoBody(html string, plain bool) string {
	if plain {
		return tghtml.Plain(html)
	}
	return html
}

// promoParts records which parts of a long promotion reached a recipient
// (a hash per promotion: recipient → parts sent).
type promoParts struct {
	s   *Service
	id  string
	uid int64
}

func (p promoParts) PartSent(ctx context.Context, part int) (int, bool, error) {
	n, err := p.s.d.Redis.HGet(ctx, p.s.partsKey(p.id), strconv.FormatInt(p.uid, 10)).Int()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, promoErr("read parts sent", p.id, err)
	}
	return 0, part < n, nil
}

func (p promoParts) PartDone(ctx context.Context, part, _ int) error {
	ctx = context.WithoutCancel(ctx) // the part left: record it even if the task's context ends
	pipe := p.s.d.Redis.TxPipeline()
	pipe.HSet(ctx, p.s.partsKey(p.id), strconv.FormatInt(p.uid, 10), part+1)
	pipe.Expire(ctx, p.s.partsKey(p.id), stateTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return promoErr("record part sent", p.id, err)
	}
	return nil
}

// paced is Deps.Direct for one recipient: HandleSend reserved the shared
// limiter for the first call; every further call (the next part of a long
// promotion, the resend after a fallback) waits for a slot of its own, and
// one further away than sendMaxWait ends the send with a FloodError (the
// task is rescheduled and goes on with the parts not sent).
type paced struct {
	s     *Service
	uid   int64
	calls int
}

func (p *paced) wait(ctx context.Context) error {
	p.calls++
	lim := p.s.d.Limiter
	if p.calls == 1 || lim == nil {
		return nil
	}
	d, err := lim.Wait(ctx, p.uid, telegram.PriorityBroadcast, sendMaxWait)
	if err != nil {
		return err
	}
	if d > 0 {
		return &telegram.FloodError{RetryAfter: d}
	}
	return nil
}

func (p *paced) SendMessage(ctx context.Context, m *telego.SendMessageParams, o telegram.Options) (*telego.Message, error) {
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	return p.s.d.Direct.SendMessage(ctx, m, o)
}

func (p *paced) SendPhoto(ctx context.Context, m *telego.SendPhotoParams, o telegram.Options) (*telego.Message, error) {
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	return p.s.d.Direct.SendPhoto(ctx, m, o)
}

// SendDocument: promotions send no documents.
func (p *paced) SendDocument(context.Context, *telego.SendDocumentParams, telegram.Options) (*telego.Message, error) {
	return nil, errors.New("promo: promotions send no documents")
}

// permanent reports Bot API errors that no retry can fix: the chat does not
// exist, or any other 400 (the request itself is wrong for this chat).
func permanent(err error) bool {
	if errors.Is(err, telegram.ErrChatNotFound) {
		return true
	}
	var apiErr *ta.Error
	return errors.As(err, &apiErr) && apiErr.ErrorCode == 400
}
