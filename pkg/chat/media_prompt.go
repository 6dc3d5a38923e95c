package chat

import (
	"context"
	"strings"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/knowledge"
)

// The request of a media turn: the usual context (system prompt,
// knowledge, partner, the appeal's recent turns), then the partner's turn
// with the file as an inline part and an instruction to return JSON of the
// schema {transcript|description, answer}. The instructions are the
// model's, not the partner's, so they live here beside the prompt's other
// framing ("# Партнёр"), in Russian like the system prompt.

const (
	mediaAskHeard = "Партнёр прислал %s. Запиши в поле transcript его дословную расшифровку на языке оригинала, " +
		"а в поле answer — ответ партнёру на это сообщение так, как ты ответил бы на такой же текст."
	mediaAskSeen = "Партнёр прислал %s. В поле description кратко (одно-два предложения) опиши, что это, " +
		"а в поле answer ответь партнёру на это сообщение так, как ты ответил бы на вопрос о нём."
	mediaCaptionLine   = "\nПодпись партнёра: "
	transcriptDesc     = "Дословная расшифровка сообщения партнёра."
	descriptionDesc    = "Короткое описание того, что прислал партнёр: что изображено или что это за документ."
	answerDesc         = "Ответ партнёру (Markdown), как на обычное сообщение."
	transcribeOnlyAsk  = "Запиши в поле transcript дословную расшифровку этой записи на языке оригинала. Ничего не добавляй."
	transcribeOnlyDesc = "Дословная расшифровка записи."
)

// buildMediaRequest assembles the request of a media turn.
func (s *Service) buildMediaRequest(ctx context.Context, p domain.Partner, past []history.Turn, in mediaInput, data []byte) (ai.Request, error) {
	entries, err := s.d.Store.Knowledge(ctx)
	if err != nil {
		return ai.Request{}, err
	}
	query := in.caption
	for _, t := range history.Recent(past, 1000) {
		if t.Role == history.RoleUser {
			query += "\n" + t.Text
		}
	}
	hits := s.mediaKnowledge(entries, query)
	ask := strings.Replace(mediaAskSeen, "%s", s.mediaLabel(in), 1)
	desc := descriptionDesc
	if in.heard() {
		ask, desc = strings.Replace(mediaAskHeard, "%s", s.mediaLabel(in), 1), transcriptDesc
	}
	if in.caption != "" {
		ask += mediaCaptionLine + in.caption
	}
	turns := addTurn(s.conversation(past), ai.Turn{Role: ai.RoleUser, Text: ask, Media: []ai.Blob{{MIMEType: modelMIME(in), Data: data}}})
	return ai.Request{System: s.systemText(p, hits), Turns: turns, MaxOutputTokens: s.o.Media.MaxOutputTokens,
		JSONSchema: ai.MediaSchema(contentField(in), desc, answerDesc)}, nil
}

// mediaKnowledge is the knowledge given with a file. Its question is
// inside the file, where retrieval cannot look, so the entries the caption
// and the recent turns find come first, then the others in the sheet's
// order, as long as they fit KnowledgeChars.
func (s *Service) mediaKnowledge(entries []domain.KnowledgeEntry, query string) []knowledge.Hit {
	hits := s.kindex.get(entries).Search(query, s.o.KnowledgeTopK)
	seen := make(map[domain.KnowledgeEntry]bool, len(hits))
	used := 0
	var out []knowledge.Hit
	add := func(h knowledge.Hit) {
		n := len([]rune(h.Entry.Topic + h.Entry.Question + h.Entry.Answer))
		if seen[h.Entry] || used+n > s.o.Media.KnowledgeChars {
			return
		}
		seen[h.Entry] = true
		used += n
		out = append(out, h)
	}
	for _, h := range hits {
		add(h)
	}
	for _, e := range entries {
		if strings.TrimSpace(e.Answer) != "" {
			add(knowledge.Hit{Entry: e})
		}
	}
	return out
}

// transcribeRequest asks only for a voice note's transcript: no
// conversation, no knowledge (an operator has the appeal).
func (s *Service) transcribeRequest(in mediaInput, data []byte) ai.Request {
	schema := map[string]any{
		"type":       "object",
		"properties": map[string]any{"transcript": map[string]any{"type": "string", "description": transcribeOnlyDesc}},
		"required":   []string{"transcript"},
	}
	return ai.Request{Turns: []ai.Turn{{Role: ai.RoleUser, Text: transcribeOnlyAsk, Media: []ai.Blob{{MIMEType: modelMIME(in), Data: data}}}},
		JSONSchema: schema, MaxOutputTokens: s.o.Media.MaxOutputTokens}
}
