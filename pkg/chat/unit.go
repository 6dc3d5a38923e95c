package chat

import (
	"context"
	"encoding/json"
	"time"

	"github.com/mymmrac/telego"
)

// The unit model: a user's inbox is taken up a unit at a time. A unit is
// one update, or several quick successive texts answered by one AI turn.

type unitKind int

const (
	unitText           unitKind = iota // plain text: an AI turn (mergeable)
	unitEdited                         // an edited message: an AI turn on the new text
	unitCommand                        // /start, /help, /operator, /analytics
	unitEscalate                       // keyword, /operator or the button
	unitContact                        // a shared contact
	unitMedia                          // photo, voice, sticker, location…
	unitEmpty                          // whitespace only
	unitCallback                       // a user's button press
	unitOperatorAction                 // take / resolve pressed in the operators' group
	unitOperatorReply                  // an operator's reply in the group
	unitUnknownButton                  // a press with data we never issued (answered at once; nothing to do)
	unitMember                         // the user blocked or unblocked the bot
	unitRate                           // the partner's press on the rating question (rating.go)
)

// unit is what is processed in one go: usually one update, several for
// quick successive texts.
type unit struct {
	kind  unitKind
	items []item
	upd   []*telego.Update
}

func (u unit) lastID() int64 { return u.items[len(u.items)-1].Payload.UpdateID }
func (u unit) has(updateID int64) bool {
	for _, it := range u.items {
		if it.Payload.UpdateID == updateID {
			return true
		}
	}
	return false
}
func (u unit) firstID() int64 { return u.items[0].Payload.UpdateID }
func (u unit) ids() []int64 {
	out := make([]int64, len(u.items))
	for i, it := range u.items {
		out[i] = it.Payload.UpdateID
	}
	return out
}

// message returns the message of the i-th update (new or edited).
func (u unit) message(i int) *telego.Message {
	if m := u.upd[i].Message; m != nil {
		return m
	}
	return u.upd[i].EditedMessage
}

func decode(it item) (*telego.Update, error) {
	var up telego.Update
	if err := json.Unmarshal(it.Payload.Update, &up); err != nil {
		return nil, err
	}
	return &up, nil
}

// gapTimeout: how long a missing predecessor may hold back a user's later
// updates (its task may have been archived by hand, say). Every chained
// update reaches the inbox (see tasks.Chained), so in a healthy system this
// never expires; chat_gap_timeouts_total counts the times it did.
const gapTimeout = 2 * time.Minute

// ready returns the leading items whose predecessors are done or ahead of
// them in the inbox.
func (s *Service) ready(ctx context.Context, uid int64, items []item) ([]item, error) {
	out, _, err := s.readyPast(ctx, uid, items)
	return out, err
}

// readyPast is ready, and also names the ready items whose predecessor was
// given up on (it never reached the inbox within gapTimeout).
func (s *Service) readyPast(ctx context.Context, uid int64, items []item) (ready []item, gaps []item, err error) {
	inInbox := make(map[int64]bool, len(items))
	for _, it := range items {
		inInbox[it.Payload.UpdateID] = true
	}
	for i, it := range items {
		prev := it.Payload.Prev
		if prev == 0 || inInbox[prev] {
			continue
		}
		done, err := s.ib.isDone(ctx, uid, prev)
		if err != nil {
			return nil, nil, err
		}
		if done {
			continue
		}
		if s.now().Sub(it.Payload.ReceivedAt) > gapTimeout {
			gaps = append(gaps, it)
			continue
		}
		return items[:i], gaps, nil
	}
	return items, gaps, nil
}

// next cuts the first unit off the inbox. Quick successive texts make one
// unit, but never across the end of a unit an earlier run already answered
// (its reply is recorded under its last update): a re-run after a crash
// forms the same units, so no reply is lost from the history or sent twice.
func (s *Service) next(ctx context.Context, uid int64, items []item, authorized bool) (unit, error) {
	first, err := decode(items[0])
	if err != nil {
		return unit{}, err
	}
	u := unit{items: items[:1], upd: []*telego.Update{first}, kind: s.classify(items[0], first, authorized)}
	if u.kind != unitText || !authorized {
		return u, nil
	}
	ends, err := s.ib.generated(ctx, uid, items)
	if err != nil {
		return unit{}, err
	}
	for i := 1; i < len(items) && !ends[items[i-1].Payload.UpdateID]; i++ {
		up, err := decode(items[i])
		if err != nil || s.classify(items[i], up, true) != unitText {
			break
		}
		u.items = items[:i+1]
		u.upd = append(u.upd, up)
	}
	return u, nil
}
