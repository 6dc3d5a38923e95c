package promo

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// Promotions of any length reach every recipient whole: at and over
// Telegram's limits (4,096 text, 1,024 caption, counted in UTF-16 units of
// the visible text, as Telegram counts) with bold, links and code at the cuts.

func u16(s string) int { return len(utf16.Encode([]rune(s))) }

func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// telegramLimits refuses what Telegram refuses: a text over 4,096 units or
// a caption over 1,024 (visible, after entity parsing).
func telegramLimits(s sent) error {
	vis := s.Text
	if s.ParseMode == telego.ModeHTML {
		vis = tghtml.Plain(s.Text)
	}
	switch {
	case s.Photo != "" && u16(vis) > 1024:
		return apiError(400, "Bad Request: message caption is too long")
	case s.Photo == "" && u16(vis) > 4096:
		return apiError(400, "Bad Request: message is too long")
	}
	return nil
}

// promoHTML is Telegram HTML of exactly n visible units (Cyrillic, emoji)
// with bold, links and code throughout.
func promoHTML(n int) string {
	var b strings.Builder
	for i := 0; ; i++ {
		chunk := fmt.Sprintf(`Акция %d: <b>скидка на объекты 😀 до конца месяца</b>, <a href="https://example.com/?p=%d&amp;x=1">подробности</a> и <code>код &lt;%d&gt;</code>. `, i, i, i)
		if tghtml.VisibleLen(b.String()+chunk) > n {
			break
		}
		b.WriteString(chunk)
	}
	for tghtml.VisibleLen(b.String()) < n {
		b.WriteString("я")
	}
	return b.String()
}

func TestLongPromotionInParts(t *testing.T) {
	for _, tc := range []struct {
		units, parts int
		image        string
	}{
		{4096, 1, ""}, {4097, 2, ""}, {10000, 3, ""}, {10000, 3, "https://img.example/a.jpg"},
	} {
		t.Run(fmt.Sprintf("%d units, image %q", tc.units, tc.image), func(t *testing.T) {
			p := promotion("P1", domain.PromotionScheduled, time.Time{})
			p.Text, p.ImageURL = promoHTML(tc.units), tc.image
			u := newUnit(t, Options{}, []domain.Promotion{p}, partners(2))
			u.direct.Fail = telegramLimits
			u.scan()
			u.drain(1)
			for i := range 2 {
				got := u.direct.to(firstUser + int64(i))
				if len(got) != tc.parts {
					t.Fatalf("recipient %d got %d messages, want %d", i, len(got), tc.parts)
				}
				var seen strings.Builder
				for j, m := range got {
					seen.WriteString(tghtml.Plain(m.Text))
					if m.ParseMode != telego.ModeHTML || u16(tghtml.Plain(m.Text)) > 200 && !strings.Contains(m.Text, "<b>") {
						t.Errorf("part %d lost its formatting", j)
					}
					if (m.Markup != "") != (j == len(got)-1) {
						t.Errorf("part %d: markup %q (the button goes under the last)", j, m.Markup)
					}
					if (m.Preview == tc.image && tc.image != "") != (j == 0 && tc.image != "") {
						t.Errorf("part %d: preview %q (the image heads the first)", j, m.Preview)
					}
				}
				if noSpace(seen.String()) != noSpace(tghtml.Plain(p.Text)) {
					t.Fatalf("recipient %d did not get the whole text", i)
				}
			}
			if row := u.store.row("P1"); row.Status != domain.PromotionSent || row.Sent != 2 {
				t.Fatalf("row %s sent %d", row.Status, row.Sent)
			}
		})
	}
}

func TestPromotionCaptionLimit(t *testing.T) {
	for _, tc := range []struct {
		units int
		photo bool
	}{{1024, true}, {1025, false}} {
		t.Run(fmt.Sprint(tc.units), func(t *testing.T) {
			p := promotion("P1", domain.PromotionScheduled, time.Time{})
			p.Text, p.ImageURL = promoHTML(tc.units), "https://img.example/c.jpg"
			u := newUnit(t, Options{}, []domain.Promotion{p}, partners(1))
			u.direct.Fail = telegramLimits
			u.scan()
			u.drain(1)
			got := u.direct.to(firstUser)
			if len(got) != 1 || (got[0].Photo != "") != tc.photo || noSpace(tghtml.Plain(got[0].Text)) != noSpace(tghtml.Plain(p.Text)) {
				t.Fatalf("got %+v, want one %s with the whole text", got, map[bool]string{true: "photo", false: "text"}[tc.photo])
			}
			if !tc.photo && got[0].Preview != p.ImageURL {
				t.Fatalf("the image is not the text's preview: %q", got[0].Preview)
			}
			if n := len(u.direct.all()); n != 1 {
				t.Fatalf("%d calls, want 1 (nothing refused)", n)
			}
		})
	}
}

// The limiter has no slot for the second part soon enough: the send is
// rescheduled and its retry sends only what is left; the recipient is
// counted once.
func TestLongPromotionResumesAfterFlood(t *testing.T) {
	p := promotion("P1", domain.PromotionScheduled, time.Time{})
	p.Text = promoHTML(10000)
	u := newUnit(t, Options{}, []domain.Promotion{p}, partners(1))
	u.direct.Fail = telegramLimits
	u.scan()
	if err := u.run(u.queue.next().Task); err != nil { // the broadcast
		t.Fatal(err)
	}
	calls := 0
	u.lim.WaitFunc = func(int64, telegram.Priority, time.Duration) (time.Duration, error) {
		calls++
		if calls == 3 { // the third part's slot
			return 10 * time.Second, nil
		}
		return 0, nil
	}
	task := sendTask(t, "P1", firstUser)
	err := u.run(task)
	if r, ok := tasks.AsRetryAfter(err); !ok || r.After != 10*time.Second {
		t.Fatalf("err = %v, want a retry after the limiter's 10s", err)
	}
	if got := len(u.direct.to(firstUser)); got != 2 || u.claimed("P1", firstUser) || u.processed("P1", firstUser) {
		t.Fatalf("%d parts sent, claimed %v, processed %v; want 2, the claim released, not processed", got, u.claimed("P1", firstUser), u.processed("P1", firstUser))
	}
	if err := u.run(task); err != nil {
		t.Fatal(err)
	}
	got := u.direct.to(firstUser)
	var seen strings.Builder
	for _, m := range got {
		seen.WriteString(tghtml.Plain(m.Text))
	}
	if len(got) != 3 || noSpace(seen.String()) != noSpace(tghtml.Plain(p.Text)) {
		t.Fatalf("%d messages after the retry, want the 3 parts once each", len(got))
	}
	if st := u.state("P1"); st.Sent != 1 {
		t.Fatalf("sent counter %d", st.Sent)
	}
}

// An operators' command quoting a long argument gets its whole answer.
func TestOperatorCommandLongArgument(t *testing.T) {
	u := operatorUnit(t)
	u.sender.Fail = telegramLimits
	arg := strings.Repeat("очень-длинный-код-акции-😀-", 200)[:8000]
	arg = strings.ToValidUTF8(arg, "")
	msg, handled := u.command(testGroup, "/promo "+arg)
	if !handled {
		t.Fatal("not handled")
	}
	answer := u.sender.to(testGroup)
	if len(answer) < 2 || answer[0].ReplyTo != msg.MessageID || answer[0].ParseMode != "" {
		t.Fatalf("answer %+v", answer)
	}
	var seen strings.Builder
	for _, m := range answer {
		seen.WriteString(m.Text)
	}
	if !strings.Contains(noSpace(seen.String()), noSpace(arg)) {
		t.Fatal("the answer lost part of the argument")
	}
}
