package chat

import (
	"context"
	"errors"
	"strings"

	"marketingbot/pkg/ai"
	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
	"marketingbot/pkg/telegram/tghtml"
)

// Media and the operators. While an operator has the appeal (the AI is
// off), a partner's file is relayed to the operators' group as it is
// (copyMessage) after a line naming it; a voice note is first transcribed
// by a model call of its own — no conversation, no knowledge, no answer —
// so that the line, the history and the card carry its words: operators
// read a group on their phones, and the sheet is their record. A voice
// note that cannot be transcribed (too long, not downloaded, Gemini out of
// reach or refusing) is relayed all the same, its line saying it was not
// transcribed. A photo or a document is relayed without a model call: the
// operator sees the file itself. A voice note whose transcript asks for a
// person escalates like a text would, and its original follows the card.

// relayMedia records and relays a file of a partner whose appeal an
// operator has.
func (s *Service) relayMedia(ctx context.Context, uid int64, p domain.Partner, u unit, ap appealState, in mediaInput) error {
	content := ""
	if in.heard() && s.o.Media.TranscribeEscalated {
		var err error
		if content, err = s.transcribe(ctx, uid, u, in); err != nil {
			return err
		}
	}
	line := s.mediaLine(u, in, content)
	return s.forwardToOperators(ctx, forward{uid: uid, p: p, ap: ap, u: u, turns: []history.Turn{line}})
}

// transcribe runs the "transcript" step once: the voice note's words, ""
// when they could not be had.
func (s *Service) transcribe(ctx context.Context, uid int64, u unit, in mediaInput) (string, error) {
	step := stepRef{uid, u.lastID(), "transcript"}
	if v, ok, err := s.ib.stepDone(ctx, step); err != nil || ok {
		return v, err
	}
	text, err := s.transcribeOnce(ctx, uid, in)
	if err != nil {
		return "", err
	}
	return text, s.ib.markStep(ctx, step, text)
}

func (s *Service) transcribeOnce(ctx context.Context, uid int64, in mediaInput) (string, error) {
	if _, refused := s.refusal(in); refused {
		return "", nil
	}
	release, err := s.mediaHold(ctx, in)
	if err != nil {
		return "", err
	}
	defer release()
	file, err := s.d.Files.Download(ctx, in.fileID, in.size, s.o.Media.MaxBytes)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		s.log.Warn("voice note for the operators not downloaded; relayed without transcript", "telegram_id", uid, "err", err)
		return "", nil
	}
	ans, err := s.d.AI.Generate(ctx, s.transcribeRequest(in, file.Data))
	switch {
	case err == nil && ans.Outcome() != ai.OutcomeBlocked:
		return ai.ParseMediaAnswer(ans.Text, "transcript").Content, nil
	case err == nil:
		s.log.Warn("Gemini refused to transcribe a voice note; relayed without transcript", "telegram_id", uid,
			"finish_reason", ans.FinishReason, "block_reason", ans.BlockReason)
		return "", nil
	case ctx.Err() != nil:
		return "", ctx.Err()
	case errors.Is(err, ai.ErrUnavailable):
		s.log.Warn("voice note for the operators not transcribed; relayed without transcript", "telegram_id", uid, "err", err)
		return "", nil
	}
	return "", err
}

// escalateMedia hands the appeal to a person because of a file (a caption
// or a transcript that asks for one): the partner's line, the card, and
// the original file after it.
func (s *Service) escalateMedia(ctx context.Context, uid int64, p domain.Partner, u unit, line history.Turn) error {
	if err := s.escalateTurns(ctx, uid, p, u, []history.Turn{line}); err != nil {
		return err
	}
	err := s.copyToGroup(ctx, stepRef{uid, u.lastID(), "orig"}, u.message(0))
	if undeliverable(err) {
		s.log.Error("partner's file not copied to the operators' group: Telegram refused it for good", "telegram_id", uid, "err", err)
		return nil
	}
	return err
}

// relayNote is the line that goes before a relayed non-text message: what
// it is and, when its history line carries any, its transcript or caption.
func (s *Service) relayNote(f forward, i int) string {
	m := f.u.message(i)
	what, text := s.tx.Media(mediaKind(m)), ""
	if i < len(f.turns) {
		if w, t, ok := splitLabel(f.turns[i].Text); ok {
			what, text = w, t
		}
	}
	data := map[string]any{"Name": tghtml.Escape(f.p.FullName), "Code": tghtml.Escape(f.p.Code), "What": tghtml.Escape(what), "Text": tghtml.Escape(text)}
	if text == "" {
		return s.tx.Render(s.tx.OperatorUserMedia, data)
	}
	return s.tx.Render(s.tx.OperatorUserMediaText, data)
}

// splitLabel splits a media history line "[label] text" into its parts.
func splitLabel(line string) (label, text string, ok bool) {
	rest, ok := strings.CutPrefix(line, "[")
	if !ok {
		return "", "", false
	}
	label, text, ok = strings.Cut(rest, "]")
	return strings.TrimSpace(label), strings.TrimSpace(text), ok
}
