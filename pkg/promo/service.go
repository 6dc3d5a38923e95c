package promo

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/obs"
	"marketingbot/pkg/redisx"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

const (
	// stateTTL keeps a promotion's Redis state, above all its processed set,
	// far beyond asynq's 7-day TaskID retention.
	stateTTL = 90 * 24 * time.Hour
	// sendMaxWait bounds a send's wait for the limiter before it reschedules.
	sendMaxWait = 2 * time.Second
	// projectionWindow: the Mini App lists promotions started this recently.
	projectionWindow = 30 * 24 * time.Hour
	// maxCaption is Telegram's caption limit; longer texts go as a message.
	maxCaption = 1024
)

// Service runs broadcasts: the scanner, the broadcast and send handlers and
// the operators' /promo command.
type Service struct {
	d      Deps
	o      Options
	keys   redisx.Keys
	appURL string

	sends      *prometheus.CounterVec
	broadcasts *prometheus.CounterVec

	botMu   sync.Mutex
	botName string
}

// New builds the service and registers its metrics.
func New(d Deps, o Options) *Service {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 50
	}
	if o.SendRate <= 0 {
		o.SendRate = 30
	}
	s := &Service{
		d: d, o: o, keys: redisx.Keys{Prefix: o.KeyPrefix}, appURL: promotionsURL(o.MiniAppURL),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "promo", Name: "sends_total",
			Help: "Promotion recipients processed, by outcome (sent, blocked, failed, skipped)."}, []string{"outcome"}),
		broadcasts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "promo", Name: "broadcasts_total",
			Help: "Promotion broadcasts by outcome (started, finished, cancelled, failed)."}, []string{"outcome"}),
	}
	d.Registry.MustRegister(s.sends, s.broadcasts)
	return s
}

// promotionsURL opens the Mini App on its promotions screen.
func promotionsURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	q.Set("screen", "promotions")
	u.RawQuery = q.Encode()
	return u.String()
}

// selectRecipients returns the Telegram IDs a promotion goes to, in sheet
// order: authorized partners bound to a Telegram account, not blocked, in
// the audience; one entry per account even if it has several rows.
func selectRecipients(p domain.Promotion, partners []domain.Partner) []int64 {
	seen := make(map[int64]bool, len(partners))
	var out []int64
	for _, pt := range partners {
		if !pt.Authorized() || pt.Blocked() || !p.Matches(pt.Code) || seen[pt.TelegramID] {
			continue
		}
		seen[pt.TelegramID] = true
		out = append(out, pt.TelegramID)
	}
	return out
}

// checkContent says why a promotion cannot be sent ("" when it can). A
// text of any length can: a long one goes in several messages.
func (s *Service) checkContent(p domain.Promotion) string {
	if strings.TrimSpace(tghtml.Plain(p.Text)) == "" && strings.TrimSpace(p.ImageURL) == "" {
		return s.d.Texts.PromoReasonEmpty
	}
	return ""
}

func audienceLabel(a string) string {
	if strings.TrimSpace(a) == "" {
		return "all"
	}
	return a
}

// render fills one of the operators' promo texts. They are plain text, sent
// without parse_mode (promo_usage shows a literal "<id акции>"), so the
// values need no escaping.
func (s *Service) render(msg string, data map[string]any) string {
	return s.d.Texts.Render(msg, data)
}

// notifyOperators posts a note to the operators' group (plain text, in
// parts when long); best effort, the sheet is the record.
func (s *Service) notifyOperators(ctx context.Context, text string) {
	chat := s.o.OperatorsChatID
	if chat == 0 {
		return
	}
	_, err := telegram.SendText(ctx, s.d.Sender, telegram.Text{ChatID: chat, Body: text, Plain: true}, telegram.Options{Priority: telegram.PriorityChat})
	if err != nil {
		s.d.Log.Warn("promo: note to the operators' group failed", "err", err)
	}
}

// botUsername is the bot's @username (cached), to tell "/promo@us" from
// commands addressed to another bot in the group.
func (s *Service) botUsername(ctx context.Context) string {
	s.botMu.Lock()
	defer s.botMu.Unlock()
	if s.botName == "" && s.d.Bot != nil {
		if me, err := s.d.Bot.GetMe(ctx); err == nil {
			s.botName = me.Username
		}
	}
	return s.botName
}

func (s *Service) now() time.Time { return s.d.Now() }

func promoErr(op, id string, err error) error {
	return fmt.Errorf("promo: %s %s: %w", op, id, err)
}
