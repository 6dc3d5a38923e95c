package chat

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/knowledge"
)

// knowledgeIndex rebuilds the retrieval index only when the Knowledge sheet
// was read again: the gateway's cache hands out the same slice until its TTL
// expires, so the slice's identity tells.
type knowledgeIndex struct {
	mu  sync.Mutex
	src *domain.KnowledgeEntry
	n   int
	idx *knowledge.Index
}

func (k *knowledgeIndex) get(entries []domain.KnowledgeEntry) *knowledge.Index {
	src := unsafe.SliceData(entries)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.idx == nil || k.src != src || k.n != len(entries) {
		k.idx, k.src, k.n = knowledge.NewIndex(entries), src, len(entries)
	}
	return k.idx
}

// buildRequest assembles the model request: system prompt + retrieved
// knowledge + who the partner is; then the appeal's recent turns from the
// sheet (stateless) and the new message(s).
func (s *Service) buildRequest(ctx context.Context, p domain.Partner, past []history.Turn, question string) (ai.Request, error) {
	entries, err := s.d.Store.Knowledge(ctx)
	if err != nil {
		return ai.Request{}, err
	}
	hits := s.kindex.get(entries).Search(question, s.o.KnowledgeTopK)
	turns := s.conversation(past)
	turns = addTurn(turns, ai.Turn{Role: ai.RoleUser, Text: question})
	return ai.Request{System: s.systemText(p, hits), Turns: turns}, nil
}

// systemText is the system instruction: the prompt, the knowledge block
// and the partner.
func (s *Service) systemText(p domain.Partner, hits []knowledge.Hit) string {
	var sys strings.Builder
	sys.WriteString(s.d.Prompt.Text())
	if block := knowledge.PromptBlock(hits); block != "" {
		sys.WriteString("\n\n")
		sys.WriteString(block)
	}
	fmt.Fprintf(&sys, "\n\n# Партнёр\nИмя: %s\nКод партнёра: %s\nСейчас: %s\n", p.FullName, p.Code, s.now().In(s.loc).Format("02.01.2006 15:04"))
	return sys.String()
}

// conversation is the appeal's recent turns as the model's conversation,
// opening with the user as Gemini expects.
func (s *Service) conversation(past []history.Turn) []ai.Turn {
	var turns []ai.Turn
	for _, t := range history.Recent(past, s.o.HistoryBudget) {
		switch t.Role {
		case history.RoleUser, history.RoleLegacy:
			turns = addTurn(turns, ai.Turn{Role: ai.RoleUser, Text: t.Text})
		case history.RoleAI:
			turns = addTurn(turns, ai.Turn{Role: ai.RoleModel, Text: t.Text})
		case history.RoleOperator:
			turns = addTurn(turns, ai.Turn{Role: ai.RoleModel, Text: "[Оператор " + t.Author + "] " + t.Text})
		}
	}
	// Gemini expects the conversation to open with the user.
	if len(turns) > 0 && turns[0].Role == ai.RoleModel {
		turns = append([]ai.Turn{{Role: ai.RoleUser, Text: "(начало диалога)"}}, turns...)
	}
	return turns
}

// addTurn appends t, merging it into the last turn when both are the same
// role's (Gemini wants the roles to alternate).
func addTurn(turns []ai.Turn, t ai.Turn) []ai.Turn {
	if n := len(turns); n > 0 && turns[n-1].Role == t.Role {
		last := &turns[n-1]
		if t.Text != "" {
			if last.Text != "" {
				last.Text += "\n\n"
			}
			last.Text += t.Text
		}
		last.Media = append(last.Media, t.Media...)
		return turns
	}
	return append(turns, t)
}
