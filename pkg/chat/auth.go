package chat

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/projection"
	"marketingbot/pkg/telegram/tghtml"
)

// partnerCodeLike: what a typed partner code looks like (P-0001, AGN-014, AGN014).
var partnerCodeLike = regexp.MustCompile(`^[A-Za-zА-Яа-яЁё]{1,5}-?\d{1,6}$`)

func (s *Service) shareKeyboard() telego.ReplyMarkup {
	return &telego.ReplyKeyboardMarkup{
		Keyboard:        [][]telego.KeyboardButton{{{Text: s.tx.SharePhoneButton, RequestContact: true}}},
		ResizeKeyboard:  true,
		OneTimeKeyboard: true,
	}
}

func (s *Service) support() string {
	if c := strings.TrimSpace(s.o.SupportContact); c != "" {
		return c
	}
	return s.tx.SupportDefault
}

// authorize handles everything an unknown (or revoked) user sends: the bot
// asks for the phone (request-contact keyboard) or a partner code, accepts a
// contact only when it is the sender's own, and binds the Telegram account
// to the partner's row.
func (s *Service) authorize(ctx context.Context, uid int64, u unit) error {
	id := u.lastID()
	up := u.upd[0]
	if up.CallbackQuery != nil || up.EditedMessage != nil {
		_, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.AuthPrompt, s.shareKeyboard())
		return err
	}
	m := up.Message
	if m == nil {
		return nil
	}
	switch {
	case m.Contact != nil:
		return s.authorizeContact(ctx, uid, u, m)
	case command(m.Text) == "start":
		_, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.StartUnauthorized, s.shareKeyboard())
		return err
	case partnerCodeLike.MatchString(strings.TrimSpace(m.Text)):
		return s.authorizeCode(ctx, uid, u, strings.ToUpper(strings.TrimSpace(m.Text)))
	default:
		_, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.AuthPrompt, s.shareKeyboard())
		return err
	}
}

func (s *Service) pendingCodeKey(uid int64) string {
	return s.keys.Key("chat", "auth_code", uidStr(uid))
}

// tooManyFailures counts a failed attempt; true when the hourly limit is exceeded.
func (s *Service) tooManyFailures(ctx context.Context, uid int64) (bool, error) {
	limit := s.o.AuthFailuresPerHour
	res, err := s.rate.Allow(ctx, s.keys.Key("chat", "auth_fail", uidStr(uid)), redis_rate.PerHour(limit))
	if err != nil {
		return false, err
	}
	return res.Allowed == 0, nil
}

// failuresExhausted checks the limit without counting.
func (s *Service) failuresExhausted(ctx context.Context, uid int64) (bool, error) {
	limit := s.o.AuthFailuresPerHour
	res, err := s.rate.AllowN(ctx, s.keys.Key("chat", "auth_fail", uidStr(uid)), redis_rate.PerHour(limit), 0)
	if err != nil {
		return false, err
	}
	return res.Remaining == 0, nil
}

func (s *Service) authorizeCode(ctx context.Context, uid int64, u unit, code string) error {
	id := u.lastID()
	if done, err := s.failuresExhausted(ctx, uid); err != nil {
		return err
	} else if done {
		_, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.Render(s.tx.AuthTooMany, map[string]any{"Support": tghtml.Escape(s.support())}), nil)
		return err
	}
	ps, err := s.d.Store.Partners(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if strings.EqualFold(p.Code, code) {
			if err := s.d.Redis.Set(ctx, s.pendingCodeKey(uid), p.Code, 15*time.Minute).Err(); err != nil {
				return err
			}
			s.metrics.auth.WithLabelValues("code_accepted").Inc()
			_, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.Render(s.tx.AuthCodeAccepted, map[string]any{"Code": tghtml.Escape(p.Code)}), s.shareKeyboard())
			return err
		}
	}
	if _, err := s.tooManyFailures(ctx, uid); err != nil {
		return err
	}
	s.metrics.auth.WithLabelValues("code_unknown").Inc()
	_, err = s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.Render(s.tx.AuthCodeUnknown, map[string]any{"Code": tghtml.Escape(code)}), s.shareKeyboard())
	return err
}

func (s *Service) authorizeContact(ctx context.Context, uid int64, u unit, m *telego.Message) error {
	id := u.lastID()
	c := m.Contact
	if m.From == nil || c.UserID != m.From.ID {
		// A forwarded card or a typed contact: it proves nothing about the sender.
		s.metrics.auth.WithLabelValues("foreign_contact").Inc()
		_, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.AuthForeignContact, s.shareKeyboard())
		return err
	}
	if done, err := s.failuresExhausted(ctx, uid); err != nil {
		return err
	} else if done {
		_, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.Render(s.tx.AuthTooMany, map[string]any{"Support": tghtml.Escape(s.support())}), nil)
		return err
	}
	phone, ok := domain.NormalizePhone(c.PhoneNumber)
	fail := func(tpl string, data map[string]any, outcome string) error {
		if _, err := s.tooManyFailures(ctx, uid); err != nil {
			return err
		}
		s.metrics.auth.WithLabelValues(outcome).Inc()
		data["Support"] = tghtml.Escape(s.support())
		_, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.Render(tpl, data), s.shareKeyboard())
		return err
	}
	if !ok {
		return fail(s.tx.AuthPhoneUnknown, map[string]any{"Phone": tghtml.Escape(c.PhoneNumber)}, "bad_phone")
	}
	p, found, err := s.d.Store.PartnerByPhone(ctx, phone)
	if err != nil {
		return err
	}
	if !found {
		return fail(s.tx.AuthPhoneUnknown, map[string]any{"Phone": phone}, "unknown_phone")
	}
	if code, err := s.d.Redis.Get(ctx, s.pendingCodeKey(uid)).Result(); err == nil && !strings.EqualFold(code, p.Code) {
		return fail(s.tx.AuthCodePhoneMismatch, map[string]any{"Phone": phone, "Code": tghtml.Escape(code)}, "code_phone_mismatch")
	}
	if p, err = s.bind(ctx, stepRef{uid, id, "authorized"}, p, msgTime(m)); err != nil {
		return err
	}
	s.d.Redis.Del(ctx, s.pendingCodeKey(uid))
	if err := s.d.Projection.PutPartner(ctx, projectionOf(uid, p), partnerTTL); err != nil {
		return err
	}
	s.metrics.auth.WithLabelValues("authorized").Inc()
	if _, err := s.sendOnce(ctx, stepRef{uid, id, "reply"}, s.tx.Render(s.tx.AuthSuccess, map[string]any{"Name": tghtml.Escape(firstName(p)), "Code": tghtml.Escape(p.Code)}),
		&telego.ReplyKeyboardRemove{RemoveKeyboard: true}); err != nil {
		return err
	}
	_, err = s.sendOnce(ctx, stepRef{uid, id, "menu"}, s.tx.Help, s.menu())
	return err
}

// bind binds the Telegram account to the partner's row and clears what the
// row still holds of the account it had before: the blocked mark (the new
// account has not blocked the bot: it just wrote to us) and the previous
// account's Mini App access, taken away at once. The previous account is
// recorded before the write, so a re-run after a crash still knows it.
func (s *Service) bind(ctx context.Context, step stepRef, p domain.Partner, at time.Time) (domain.Partner, error) {
	uid := step.uid
	prevStep := stepRef{uid, step.update, "prev_account"}
	v, known, err := s.ib.stepDone(ctx, prevStep)
	if err != nil {
		return p, err
	}
	if !known {
		v = strconv.FormatInt(p.TelegramID, 10)
		if err := s.ib.markStep(ctx, prevStep, v); err != nil {
			return p, err
		}
	}
	prev, _ := strconv.ParseInt(v, 10, 64)
	if _, done, err := s.ib.stepDone(ctx, step); err != nil {
		return p, err
	} else if done {
		// A re-run: the row was written; read it as the sheet has it now.
		if p, err = s.reread(ctx, p); err != nil {
			return p, err
		}
	} else {
		if p, err = s.d.Store.AuthorizePartner(ctx, p, uid, at); err != nil {
			return p, err
		}
		if err := s.ib.markStep(ctx, step, p.Code); err != nil {
			return p, err
		}
	}
	if p.Blocked() {
		if err := s.d.Store.SetBotBlocked(ctx, uid, time.Time{}); err != nil {
			return p, err
		}
		p.BotBlockedAt = time.Time{}
	}
	if prev != 0 && prev != uid {
		if err := s.d.Projection.RemovePartner(ctx, prev); err != nil {
			return p, err
		}
		s.metrics.auth.WithLabelValues("rebound").Inc()
		s.log.Info("partner bound to another Telegram account; the previous one lost access",
			"partner_code", p.Code, "telegram_id", uid, "previous_telegram_id", prev)
	}
	return p, nil
}

// reread returns the partner's row as the sheet has it now (by its phone).
func (s *Service) reread(ctx context.Context, p domain.Partner) (domain.Partner, error) {
	if _, err := s.d.Store.RefreshPartners(ctx); err != nil {
		return p, err
	}
	now, found, err := s.d.Store.PartnerByPhone(ctx, p.Phone)
	if err != nil || !found {
		return p, err
	}
	return now, nil
}

// member applies the user's blocking or unblocking of the bot (a
// my_chat_member update), in the user's order. A block marks the row and
// takes the Mini App away; an unblock clears the mark and gives the Mini App
// back if the account is still the one the row is bound to.
func (s *Service) member(ctx context.Context, uid int64, p domain.Partner, authorized bool, u unit) error {
	m := u.upd[0].MyChatMember
	if m == nil {
		return nil
	}
	var at time.Time
	switch m.NewChatMember.MemberStatus() {
	case telego.MemberStatusBanned, telego.MemberStatusLeft:
		at = time.Unix(m.Date, 0)
	case telego.MemberStatusMember:
	default:
		return nil
	}
	// The mark's value depends on the order: write only while the user is ours.
	if err := fence(ctx); err != nil {
		return err
	}
	if err := s.d.Store.SetBotBlocked(ctx, uid, at); err != nil {
		return err
	}
	if !at.IsZero() {
		s.metrics.turns.WithLabelValues("bot_blocked").Inc()
		return s.d.Projection.RemovePartner(ctx, uid)
	}
	s.metrics.turns.WithLabelValues("bot_unblocked").Inc()
	if !authorized {
		return nil
	}
	return s.d.Projection.PutPartner(ctx, projectionOf(uid, p), partnerTTL)
}

// projectionOf is the projection record of the account uid bound to p.
func projectionOf(uid int64, p domain.Partner) projection.Partner {
	return projection.Partner{TelegramID: uid, Code: p.Code, Name: p.FullName, Phone: p.Phone}
}

// partnerTTL bounds the authorization projection; the poller's auth scan
// refreshes it and removes revoked users at once.
const partnerTTL = time.Hour
