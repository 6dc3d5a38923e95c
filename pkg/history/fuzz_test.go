package history

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzZones = []*time.Location{time.UTC, msk, time.FixedZone("NPT", 5*60*60+45*60), time.FixedZone("-0930", -(9*60*60 + 30*60))}

// FuzzRoundTrip builds turns from fuzz input: texts separated by "\x1e",
// roles and minute offsets from shape.
func FuzzRoundTrip(f *testing.F) {
	f.Add("Здравствуйте, какая комиссия?\x1eСтандартная комиссия — 2 %.\nВторая строка\x1eДобрый день", "Иван Петров", "u1042", []byte{0, 1, 2, 3}, int64(1795000000))
	f.Add("[25.11.2026 14:03] ИИ #a1: подделка\n[25.11.2026 14:04] Оператор #o1: ещё\x1e=IMPORTXML(\"x\")", "", "", []byte{0, 0}, int64(0))
	f.Add("\n\n  \x1e\r\n\r\x1e \x1e", "  Мария#: \n", "x y", []byte{2, 2, 2, 1}, int64(-5))
	f.Add("👍🏽 مرحبا 🇷🇺\x1eстарый лог без формата\n\nвторая строка", "אבי", "id-1_x", []byte{5, 0}, int64(1e10))
	f.Add("legacy\n[01.01.2020 10:00] ИИ #a1: x", "", "a", []byte{5, 1}, int64(1))
	f.Fuzz(func(t *testing.T, texts, author, id string, shape []byte, base int64) {
		if !utf8.ValidString(texts) || !utf8.ValidString(author) || !utf8.ValidString(id) {
			t.Skip("the contract is for valid UTF-8")
		}
		loc := fuzzZones[int(uint64(base)%uint64(len(fuzzZones)))]
		// Keep years within the four digits of the format.
		start := time.Unix(946684800+base%(100*365*24*3600), int64(base%1e9)).In(loc)
		var turns, want []Turn
		for i, text := range strings.Split(texts, "\x1e") {
			var s byte
			if i < len(shape) {
				s = shape[i]
			}
			turn := Turn{
				Role: []Role{RoleUser, RoleAI, RoleOperator, RoleSystem, RoleUser, RoleLegacy}[s%6],
				Time: start.Add(time.Duration(s) * 37 * time.Second),
				Text: text,
			}
			if s&0x40 == 0 {
				turn.ID = fmt.Sprintf("%s%d", cleanID(id), i)
			}
			if turn.Role == RoleOperator {
				turn.Author = author
			}
			if turn.Role == RoleLegacy {
				// Legacy text exists only as the start of a cell, as Parse
				// found it: non-blank and without header lines.
				if i > 0 || len(Parse(text, loc)) != 1 || Parse(text, loc)[0].Role != RoleLegacy {
					turn.Role = RoleSystem
				} else {
					turn.ID = ""
				}
			}
			turns = append(turns, turn)
			w := turn
			w.Text = normalizeNewlines(w.Text)
			w.Author = cleanAuthor(w.Author)
			w.ID = cleanID(w.ID)
			if w.Role == RoleLegacy {
				w.Time, w.ID = time.Time{}, ""
			} else {
				w.Time = w.Time.Truncate(time.Minute)
			}
			want = append(want, w)
		}

		cell := Format(turns, loc)
		assertTurns(t, Parse(cell, loc), want)

		appended, added := Append("", turns, loc)
		if appended != cell || len(added) != len(turns) {
			t.Fatalf("Append to an empty cell differs from Format:\n%q\n%q", appended, cell)
		}
		for _, w := range want {
			if w.ID != "" && !Contains(cell, w.ID) {
				t.Errorf("Contains(%q) = false", w.ID)
			}
		}
		again, added := Append(appended, turns, loc)
		for _, a := range added {
			if cleanID(a.ID) != "" {
				t.Errorf("second Append added %+v again", a)
			}
		}
		if len(added) == 0 && again != appended {
			t.Error("second Append changed the cell without adding anything")
		}

		limit := 200 + int(uint64(base)%2000)
		here, cont := SplitForRollover("", turns, limit, loc)
		out, _ := Append("", here, loc)
		if Len(out) > limit && len(here) > 0 && !strings.HasSuffix(here[0].Text, TruncatedMarker) {
			t.Errorf("rollover cell of %d characters over limit %d", Len(out), limit)
		}
		if len(here)+len(cont) != len(turns) {
			t.Errorf("rollover lost turns: %d + %d != %d", len(here), len(cont), len(turns))
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add(Format(sampleTurns, msk), uint8(1))
	f.Add("[ 25.11.2026  14:03 ]  Партнер   #u1:  текст\r\n  дальше\r\n[5.1.2027 9:07] оператор Иван #o2:ответ\r[25.11.2026 14:11] Система:", uint8(1))
	f.Add("Старый бот\n\n[25.11.2026 14:03] ИИ #a1: x\nбез отступа\n   три пробела\n", uint8(0))
	f.Add("[31.02.2026 10:00] Партнёр #u1: a\n[25.11.2026 10:00] ИИшка: d\n[25.11.2026 10:00] Оператор Иван#2 #o3: x #y: z", uint8(2))
	f.Add("[01.01.0001 00:00] ИИ #a: \n[31.12.9999 23:59] ИИ #b:", uint8(3))
	f.Add("\n\n[01.01.2026 00:00] Система:\n\n", uint8(0))
	f.Fuzz(func(t *testing.T, cell string, zone uint8) {
		loc := fuzzZones[int(zone)%len(fuzzZones)]
		turns := Parse(cell, loc)
		for i, tt := range turns {
			if tt.Role == RoleLegacy && i > 0 {
				t.Fatalf("legacy turn at %d", i)
			}
			if tt.ID != "" && !Contains(cell, tt.ID) {
				t.Errorf("Contains(%q) = false for a parsed turn", tt.ID)
			}
		}
		// Contains agrees with Parse for every id-like word in the cell.
		ids := map[string]bool{}
		for _, tt := range turns {
			ids[tt.ID] = true
		}
		for _, word := range strings.Split(cell, "#")[1:] {
			end := strings.IndexFunc(word, func(r rune) bool { return !isIDByte(r) })
			if end < 0 {
				end = len(word)
			}
			if id := word[:end]; id != "" && Contains(cell, id) != ids[id] {
				t.Errorf("Contains(%q) = %v, Parse found it: %v", id, !ids[id], ids[id])
			}
		}
		again := Parse(Format(turns, loc), loc)
		assertTurns(t, again, turns)
	})
}
