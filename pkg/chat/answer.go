package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/telegram/tghtml"
)

// What the model's answer becomes. A complete answer is sent as it is. One
// cut by the output-token cap (MAX_TOKENS) ends at its last complete
// sentence, with a note that it was shortened (texts: ai_truncated_note) —
// rather than a second request to continue it: a continuation doubles the
// wait and the cost, can hit the cap again, must be stitched into the middle
// of a sentence (and of open Markdown), and the cap is the operator's own
// setting for how long an answer should be; the note invites the partner to
// ask for the rest. An empty answer, or one the model stopped for safety,
// recitation, prohibited content, a blocklist, personal data or another
// reason, or a blocked request, gets a defined reply (ai_empty, ai_blocked)
// and a history line naming the reason — never an empty message, never a
// second request.

// Kinds of generated outcomes besides "ai", "fallback" and "throttled".
const kindNoAnswer = "no_answer"

// fromAnswer fills g from the model's answer.
func (s *Service) fromAnswer(g generated, a ai.Answer) generated {
	switch a.Outcome() {
	case ai.OutcomeTruncated:
		g.Kind, g.Truncated = "ai", true
		g.Text = endAtSentence(a.Text) + "\n\n" + s.tx.AITruncatedNote
	case ai.OutcomeBlocked:
		g.Kind, g.Blocked = kindNoAnswer, true
		g.Reason = a.FinishReason
		if a.BlockReason != "" {
			g.Reason = s.tx.Render(s.tx.AIReasonPromptBlocked, map[string]any{"Reason": a.BlockReason})
		}
	case ai.OutcomeEmpty:
		g.Kind, g.Reason = kindNoAnswer, s.tx.AIReasonEmpty
	default:
		g.Kind, g.Text = "ai", a.Text
		if strings.TrimSpace(tghtml.Plain(tghtml.FromMarkdown(a.Text))) == "" {
			// Markup without a visible word ("** **"): nothing to send.
			g.Kind, g.Text, g.Reason = kindNoAnswer, "", s.tx.AIReasonEmpty
		}
	}
	return g
}

// endAtSentence cuts a truncated answer after its last complete sentence:
// the last sentence end (., !, ?, … with closing quotes, brackets or
// Markdown emphasis after it, followed by a space or a line break) or the
// end of its last complete line, whichever is later — but never after a
// line that ends with a colon (its list was cut off). Without any, it ends
// at the last word with "…".
func endAtSentence(text string) string {
	text = strings.TrimRightFunc(text, unicode.IsSpace)
	cands := sentenceEnds(text)
	for i := len(cands) - 1; i >= 0; i-- {
		cut := strings.TrimRightFunc(text[:cands[i]], unicode.IsSpace)
		if cut != "" && !strings.HasSuffix(cut, ":") {
			return cut
		}
	}
	if i := strings.LastIndexFunc(text, unicode.IsSpace); i > 0 {
		text = strings.TrimRightFunc(text[:i], func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) && r != ')' })
	}
	return text + "…"
}

// sentenceEnds lists the byte offsets where text may end: after a sentence
// end or at the end of a line that is followed by more text.
func sentenceEnds(text string) []int {
	var out []int
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '\n':
			out = append(out, i)
		case strings.ContainsRune(".!?…", r):
			j := i + n
			for j < len(text) {
				c, w := utf8.DecodeRuneInString(text[j:])
				if !strings.ContainsRune(`)»"'*_`+"`", c) {
					break
				}
				j += w
			}
			if next, _ := utf8.DecodeRuneInString(text[j:]); j < len(text) && unicode.IsSpace(next) {
				out = append(out, j)
			}
		}
		i += n
	}
	return out
}
