package telegram

import "context"

// WaitReport runs the limiter's wait and says whether the send was
// refused again after a draft took a token it was waiting for.
func WaitReport(l *Limiter, ctx context.Context, chatID int64, prio Priority) (behindDraft bool, err error) {
	w, err := l.wait(ctx, chatID, prio, 0)
	return w.behindDraft, err
}
