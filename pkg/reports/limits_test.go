package reports_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf16"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram"
	"marketingbot/pkg/telegram/tghtml"
)

// A delivery reaches the partner whole at and over Telegram's limits: the
// summary in parts under 4,096 units, the PDF's caption cut at 1,024 with
// the rest right after it; a re-run sends nothing again.

func u16(s string) int { return len(utf16.Encode([]rune(s))) }

func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// limitsSender makes the fake refuse what Telegram refuses.
func limitsSender(u *unit) {
	vis := func(text, mode string) int {
		if mode == telego.ModeHTML {
			text = tghtml.Plain(text)
		}
		return u16(text)
	}
	u.sender.sendMessage = func(p *telego.SendMessageParams) error {
		if vis(p.Text, p.ParseMode) > 4096 {
			return fmt.Errorf("%w: Bad Request: message is too long", telegram.ErrTooLong)
		}
		return nil
	}
	u.sender.sendDocument = func(p *telego.SendDocumentParams) error {
		if vis(p.Caption, p.ParseMode) > 1024 {
			return fmt.Errorf("%w: Bad Request: message caption is too long", telegram.ErrTooLong)
		}
		return nil
	}
}

// summary is plain text of exactly n units: Cyrillic, emoji, characters
// HTML escapes, paragraphs.
func summary(n int) string {
	var b strings.Builder
	for i := 0; u16(b.String()) < n-60; i++ {
		fmt.Fprintf(&b, "Цена за м² 😀 <выше> рынка & спрос %d. ", i)
		if i%20 == 19 {
			b.WriteString("\n\n")
		}
	}
	for u16(b.String()) < n {
		b.WriteString("я")
	}
	return b.String()
}

// plainOf is what the partner reads of a sent text or caption.
func plainOf(texts []sent) string {
	var b strings.Builder
	for _, m := range texts {
		b.WriteString(tghtml.Plain(m.text))
	}
	return b.String()
}

func TestDeliverAtTheLimits(t *testing.T) {
	for _, n := range []int{4096, 4097, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			row := queueRow("req-1", domain.RequestStatusDone, unitNow)
			row.ResultText = summary(n)
			store := newFakeStore(nil, row)
			u := newUnit(t, store, nil)
			limitsSender(u)
			if err := u.proj.PutReport(context.Background(), "req-1", []byte("%PDF-1.4 x"), 0); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := u.deliver("req-1"); err != nil {
					t.Fatal(err)
				}
			}
			msgs := u.sender.all()
			texts, docs := u.sender.counts()
			if want := (n + 60 + 4095) / 4096; texts < want || docs != 1 || msgs[len(msgs)-1].document == "" {
				t.Fatalf("%d texts and %d documents (the PDF last), want at least %d and 1", texts, docs, want)
			}
			if !strings.Contains(noSpace(plainOf(msgs[:texts])), noSpace(row.ResultText)) {
				t.Fatal("the partner did not get the whole summary")
			}
		})
	}
}

func TestDeliverCaptionLimit(t *testing.T) {
	prefix := u16(tghtml.Plain(strings.ReplaceAll(txCaption(t), "{{.Code}}", "")))
	for _, n := range []int{1024, 1025, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			row := queueRow("req-1", domain.RequestStatusDone, unitNow)
			row.ObjectCode = strings.Repeat("К", n-prefix-2) + "😀" // the caption is exactly n units
			store := newFakeStore(nil, row)
			u := newUnit(t, store, nil)
			limitsSender(u)
			if err := u.proj.PutReport(context.Background(), "req-1", []byte("%PDF-1.4 x"), 0); err != nil {
				t.Fatal(err)
			}
			if err := u.deliver("req-1"); err != nil {
				t.Fatal(err)
			}
			msgs := u.sender.all()
			var doc int
			for i, m := range msgs {
				if m.document != "" {
					doc = i
				}
			}
			after := msgs[doc:]
			if n <= 1024 && len(after) != 1 || n > 1024 && len(after) < 2 {
				t.Fatalf("%d messages from the PDF on", len(after))
			}
			if got := plainOf(after); u16(got) < n-2 || !strings.Contains(noSpace(got), noSpace(row.ObjectCode)) {
				t.Fatalf("the caption lost text: %d of %d units", u16(got), n)
			}
		})
	}
}

func txCaption(t *testing.T) string {
	u := newUnit(t, newFakeStore(nil), nil)
	return u.tx.AnalyticsReportCaption
}
