package demo_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/knowledge"
	"marketingbot/sim/demo"
)

func TestKnowledgeEntriesAreComplete(t *testing.T) {
	entries := demo.Knowledge()
	if len(entries) < 25 {
		t.Fatalf("got %d knowledge entries, want about 30", len(entries))
	}
	questions := make(map[string]bool)
	for i, e := range entries {
		if strings.TrimSpace(e.Topic) == "" || strings.TrimSpace(e.Question) == "" || strings.TrimSpace(e.Answer) == "" {
			t.Errorf("entry %d (%q) has an empty field", i, e.Question)
		}
		if questions[e.Question] {
			t.Errorf("question %q appears twice", e.Question)
		}
		questions[e.Question] = true
		// A Sheets cell holds at most 50,000 characters; an answer pasted into
		// every prompt should be far shorter than that anyway.
		if n := len([]rune(e.Answer)); n > 1000 {
			t.Errorf("entry %q: answer of %d characters is too long for a prompt block", e.Question, n)
		}
	}
}

// TestKnowledgeEachQuestionFindsItsEntry is the retrieval regression test: a
// change to the tokenizer, the ranking or the data that makes an entry lose
// to another one on its own question shows up here.
func TestKnowledgeEachQuestionFindsItsEntry(t *testing.T) {
	entries := demo.Knowledge()
	ix := knowledge.NewIndex(entries)
	if ix.Len() != len(entries) {
		t.Fatalf("index holds %d entries, want %d", ix.Len(), len(entries))
	}
	for _, e := range entries {
		t.Run(e.Question, func(t *testing.T) {
			hits := ix.Search(e.Question, 1)
			if len(hits) != 1 {
				t.Fatalf("no hit")
			}
			if hits[0].Entry != e {
				t.Errorf("top hit is %q (score %.2f)", hits[0].Entry.Question, hits[0].Score)
			}
		})
	}
}

func TestKnowledgeAnswersRealQuestions(t *testing.T) {
	ix := knowledge.NewIndex(demo.Knowledge())
	tests := []struct {
		query string
		topic string
	}{
		{"какую комиссию я получу", "Комиссии"},
		{"акции в этом месяце", "Акции"},
		{"как заказать аналитику по объекту", "Аналитика 360"},
		{"когда придут деньги за сделку?", "Выплаты"},
		{"клиента увёл другой партнёр, что делать", "Споры за клиента"},
		{"в какие банки можно подать на ипотеку", "Ипотека"},
		{"где найти код объекта", "Коды объектов"},
		{"до скольки работает поддержка в субботу", "Режим работы"},
		{"бот не принимает мой телефон", "Авторизация"},
		{"какие документы собрать продавцу", "Документы"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			hits := ix.Search(tt.query, 3)
			if len(hits) == 0 {
				t.Fatalf("no hits")
			}
			if hits[0].Entry.Topic != tt.topic {
				t.Errorf("top hit topic %q (%q), want %q", hits[0].Entry.Topic, hits[0].Entry.Question, tt.topic)
			}
		})
	}
}

func TestPartners(t *testing.T) {
	partners := demo.Partners()
	if n := len(partners); n < 6 || n > 8 {
		t.Fatalf("got %d partners, want 6–8", n)
	}
	codes := make(map[string]bool)
	phones := make(map[string]string)
	prefixes := make(map[string]int)
	var legacy, current, unauthorized int
	for _, p := range partners {
		if codes[p.Code] {
			t.Errorf("code %s appears twice", p.Code)
		}
		codes[p.Code] = true
		prefix, _, ok := strings.Cut(p.Code, "-")
		if !ok {
			t.Errorf("code %s has no prefix", p.Code)
		}
		prefixes[prefix]++

		norm, ok := domain.NormalizePhone(p.Phone)
		if !ok {
			t.Errorf("%s: phone %q does not normalize", p.Code, p.Phone)
			continue
		}
		if len(norm) != 11 || norm[0] != '7' {
			t.Errorf("%s: phone %q normalizes to %q, want a Russian 7XXXXXXXXXX", p.Code, p.Phone, norm)
		}
		if other, dup := phones[norm]; dup {
			t.Errorf("%s and %s share phone %s", other, p.Code, norm)
		}
		phones[norm] = p.Code
		if strings.TrimSpace(p.FullName) == "" {
			t.Errorf("%s has no name", p.Code)
		}

		switch p.Status {
		case "":
			unauthorized++
			if p.TelegramID != 0 || p.Authorized() {
				t.Errorf("%s: unauthorized partner must not be bound to Telegram", p.Code)
			}
		case domain.PartnerStatusAuthorizedLegacy:
			legacy++
			if !p.Authorized() {
				t.Errorf("%s: legacy status must count as authorized", p.Code)
			}
		case domain.PartnerStatusAuthorized:
			current++
			if !p.Authorized() || p.AuthorizedAt.IsZero() {
				t.Errorf("%s: authorized partner needs a Telegram ID and authorized_at", p.Code)
			}
		default:
			t.Errorf("%s: unexpected status %q", p.Code, p.Status)
		}
	}
	if len(prefixes) != 2 {
		t.Errorf("code prefixes %v, want exactly two families", prefixes)
	}
	if legacy != 1 || current != 1 || unauthorized < len(partners)/2 {
		t.Errorf("statuses: %d legacy, %d authorized, %d empty; want 1, 1 and most empty", legacy, current, unauthorized)
	}
	// The point of the mixed formats is to exercise normalization.
	formats := make(map[string]bool)
	for _, p := range partners {
		formats[regexp.MustCompile(`\d`).ReplaceAllString(p.Phone, "9")] = true
	}
	if len(formats) < 4 {
		t.Errorf("only %d distinct phone formats", len(formats))
	}
}

func TestPromotion(t *testing.T) {
	now := time.Date(2026, time.March, 3, 9, 15, 42, 500_000_000, time.FixedZone("MSK", 3*60*60))
	p := demo.Promotion(now)

	if d := p.StartsAt.Sub(now); d < 59*time.Second || d > time.Minute {
		t.Errorf("starts %v after now, want one minute", d)
	}
	if p.StartsAt.Nanosecond() != 0 {
		t.Errorf("starts_at %v has sub-second precision the sheet cannot store", p.StartsAt)
	}
	if p.Status != domain.PromotionScheduled || p.Audience != "all" || p.ImageURL != "" {
		t.Errorf("status %q audience %q image %q, want scheduled, all, none", p.Status, p.Audience, p.ImageURL)
	}
	if p.ID == "" || p.Title == "" {
		t.Errorf("id %q title %q must be set", p.ID, p.Title)
	}
	for _, partner := range demo.Partners() {
		if !p.Matches(partner.Code) {
			t.Errorf("audience all does not match %s", partner.Code)
		}
	}
	if later := demo.Promotion(now.Add(time.Hour)); later.ID == p.ID {
		t.Errorf("two runs an hour apart share promotion id %q", p.ID)
	}
	if err := checkTelegramHTML(p.Text); err != "" {
		t.Errorf("text is not valid Telegram HTML: %s", err)
	}
	if n := len([]rune(p.Text)); n > 1024 {
		t.Errorf("text of %d characters would not fit a photo caption if an image is added", n)
	}
}

// checkTelegramHTML reports the first construct Telegram's HTML parse mode
// would reject: unknown or unbalanced tags, or bare '<', '>' and '&'.
func checkTelegramHTML(s string) string {
	allowed := map[string]bool{"b": true, "strong": true, "i": true, "em": true, "u": true, "s": true, "code": true}
	token := regexp.MustCompile(`<(/?)([a-z]+)>|&(lt|gt|amp|quot);|[<>&]`)
	var open []string
	for _, m := range token.FindAllStringSubmatch(s, -1) {
		switch {
		case m[2] != "":
			if !allowed[m[2]] {
				return "tag <" + m[2] + "> is not supported"
			}
			if m[1] == "" {
				open = append(open, m[2])
				continue
			}
			if len(open) == 0 || open[len(open)-1] != m[2] {
				return "unbalanced </" + m[2] + ">"
			}
			open = open[:len(open)-1]
		case m[3] != "":
			// an escaped entity
		default:
			return "bare " + m[0]
		}
	}
	if len(open) > 0 {
		return "unclosed <" + open[len(open)-1] + ">"
	}
	return ""
}
