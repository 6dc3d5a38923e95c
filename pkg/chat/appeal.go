package chat

import (
	"context"
	"strconv"
	"time"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/history"
)

// Appeals in the sheet. The history cell is read at every turn (the sheet
// is the truth; operators may edit it) and written with a message id per
// line, so that a re-run never adds a line twice.

// appealState is the appeal a unit works on; exists is false for a new row
// the unit's write will create.
type appealState struct {
	a      domain.Appeal
	exists bool
}

// opening is what a new appeal row of a unit is made of, should it need one.
type opening struct {
	uid     int64
	partner domain.Partner
	user    *telego.User // nil when unknown (an operator's doing)
	first   time.Time    // the unit's first message
}

// sheetAppeal is the user's current appeal as read from the sheet.
type sheetAppeal struct {
	a     domain.Appeal
	found bool
}

// priorWrite is the previous unit's write, which may not have landed when
// the sheet was read: the appeal it leaves and the turns it adds.
type priorWrite struct {
	a     domain.Appeal
	turns []history.Turn
}

// appealAfter is the state a unit works on: the appeal read from the sheet,
// taking into account the write of the unit before (prior, nil for none). A
// closed appeal (Решено) or none means a new row.
func (s *Service) appealAfter(o opening, read sheetAppeal, prior *priorWrite) appealState {
	cur, ok := read.a, read.found
	if prior != nil {
		landed := read.found && sameAppeal(read.a, prior.a)
		switch {
		case !landed:
			// The sheet does not show the previous write's row yet (a new
			// row being appended): that row is the current appeal.
			cur, ok = prior.a, true
		case !read.a.Closed():
			cur.History, _ = history.Append(read.a.History, prior.turns, s.loc)
			if n := len(prior.turns); n > 0 && !history.Contains(read.a.History, prior.turns[n-1].ID) {
				cur.Status = prior.a.Status // read before the write landed
			}
		}
	}
	if ok && !cur.Closed() {
		return appealState{a: cur, exists: true}
	}
	return appealState{a: domain.Appeal{CreatedAt: afterAppeal(o.first, cur, ok), TelegramID: o.uid, PartnerCode: o.partner.Code,
		UserName: displayName(o.partner, o.user), Status: domain.AppealStatusNew}}
}

// sameAppeal: a row is known by (Telegram ID, created_at to the second).
func sameAppeal(a, b domain.Appeal) bool {
	return a.TelegramID == b.TelegramID && a.CreatedAt.Truncate(time.Second).Equal(b.CreatedAt.Truncate(time.Second))
}

// loadAppeal reads the user's current appeal now; a closed one (Решено) or
// none means the next line opens a new row.
func (s *Service) loadAppeal(ctx context.Context, o opening) (appealState, error) {
	a, found, err := s.d.Store.CurrentAppeal(ctx, o.uid)
	if err != nil {
		return appealState{}, err
	}
	return s.appealAfter(o, sheetAppeal{a: a, found: found}, nil), nil
}

// afterAppeal is the created_at of a new row that follows prev: t to the
// second, but later than prev's. A row is known by (Telegram ID, created_at),
// so a new appeal opened within the second its predecessor was created must
// not take the predecessor's key (it would be mistaken for it, and never
// appended).
func afterAppeal(t time.Time, prev domain.Appeal, hasPrev bool) time.Time {
	t = t.Truncate(time.Second)
	if hasPrev && !t.After(prev.CreatedAt) {
		t = prev.CreatedAt.Truncate(time.Second).Add(time.Second)
	}
	return t
}

// appealWrite is one write of a unit to the user's appeal.
type appealWrite struct {
	uid      int64
	u        unit
	ap       appealState
	turns    []history.Turn // appended; ids already in the cell are skipped
	status   domain.AppealStatus
	operator *string // nil: unchanged
	// set: fields of ap.a written as they are (the support stamps:
	// escalated_at, first_response_at).
	set []domain.AppealField
}

// saveAppeal appends turns (skipping ids already there), sets status and
// operator, creates the row if it is new, and rolls over to a continuation
// row before the cell limit.
func (s *Service) saveAppeal(ctx context.Context, w appealWrite) error {
	_, err := s.storeAppeal(ctx, w)
	return err
}

// storeAppeal is saveAppeal returning the user's current appeal afterwards
// (the continuation row when one was opened).
func (s *Service) storeAppeal(ctx context.Context, w appealWrite) (domain.Appeal, error) {
	a := w.ap.a
	if err := fence(ctx); err != nil {
		return a, err
	}
	here, cont := history.SplitForRollover(a.History, w.turns, history.RolloverLimit, s.loc)
	cell, added := history.Append(a.History, here, s.loc)
	fields := []domain.AppealField{}
	if len(added) > 0 {
		a.History = cell
		fields = append(fields, domain.AppealFieldHistory)
	}
	if w.status != a.Status {
		a.Status = w.status
		fields = append(fields, domain.AppealFieldStatus)
	}
	if w.operator != nil && *w.operator != a.Operator {
		a.Operator = *w.operator
		fields = append(fields, domain.AppealFieldOperator)
	}
	fields = append(fields, w.set...)
	a.UpdatedAt = s.now()
	var err error
	switch {
	case !w.ap.exists:
		a, err = s.createAppeal(ctx, w.uid, w.u, a)
	case len(fields) > 0:
		a, err = s.d.Store.UpdateAppeal(ctx, a, fields...)
	}
	if err != nil || len(cont) == 0 {
		return a, err
	}
	// Continuation row: same status, a pointer back, the turns that did not fit.
	next := domain.Appeal{CreatedAt: afterAppeal(cont[0].Time, a, true), UserName: a.UserName, PartnerCode: a.PartnerCode,
		TelegramID: w.uid, Status: a.Status, Operator: a.Operator, UpdatedAt: s.now()}
	note := history.Turn{ID: "s-cont-" + cont[0].ID, Role: history.RoleSystem, Time: cont[0].Time,
		Text: s.tx.Render(s.tx.HistoryContinued, map[string]any{"Created": a.CreatedAt.In(s.loc).Format("02.01.2006 15:04")})}
	next.History, _ = history.Append("", append([]history.Turn{note}, cont...), s.loc)
	return s.createAppeal(ctx, w.uid, w.u, next)
}

// createAppeal appends the row; a marker tells a re-run that an earlier
// attempt may have appended already, so the gateway looks first.
func (s *Service) createAppeal(ctx context.Context, uid int64, u unit, a domain.Appeal) (domain.Appeal, error) {
	step := stepRef{uid, u.firstID(), "create-" + strconv.FormatInt(a.CreatedAt.Unix(), 10)}
	_, tried, err := s.ib.stepDone(ctx, step)
	if err != nil {
		return a, err
	}
	if err := s.ib.markStep(ctx, step, "1"); err != nil {
		return a, err
	}
	return s.d.Store.CreateAppeal(ctx, a, tried)
}
