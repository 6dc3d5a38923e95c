package sheets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/semaphore"

	"marketingbot/pkg/sheets/a1"
)

// Rows that move under a guarded write.
//
// values.append inserts its rows (INSERT_ROWS) right below the table it
// extends, so every row below that point moves down — a row the team keeps
// under a gap, say, or a Queue row an operator typed far below the table.
// A guarded write is judged on what its rows held when the guard was read;
// an append that lands between that read and the write can move the row
// the write was judged on, and the write then lands in whatever row took
// its place (found by the mini-app system test: the ERROR meant for a Queue
// row below a gap went to the empty row the row had been pushed out of, and
// the request stayed PROCESSING).
//
// rowShifts orders the two within the process that sends them (the
// fleet's carrier, or a process batching alone):
//   - an append holds its sheet exclusively while its request is out, and
//     a guarded write holds the sheets it touches shared while its request
//     is out, so neither can overtake the other at Google;
//   - every append that may have moved rows is logged with the first row it
//     inserted (0 when unknown: it failed, and may still have landed);
//   - a guard read takes a mark before its request goes out; right before
//     the write, if an append logged since the mark inserted at or above a
//     row the write touches or the guard read, the write is not sent
//     (errGuardStale) and its caller reads the guard again and judges anew.
//
// An append below the written rows (the usual case: a new row at the end of
// a table, a write inside it) does not make the write stale. A mark from
// another carrier, or one older than the log remembers, always does.
//
// What this cannot order: a row an operator inserts by hand between the
// guard read and the write (Google has no conditional write), and an
// append whose request was cut off by its caller but still reaches Google
// later.

// errGuardStale: rows may have moved between the guard read and the write;
// nothing was written, and the caller reads the guard again.
var errGuardStale = errors.New("sheets: rows moved since the guard was read; judging it again")

// errNotSent tells an append's end that no request went out.
var errNotSent = errors.New("sheets: not sent")

// shiftMark is what a guard read saw: the rows as they were after every
// append before seq, in the carrying term term.
type shiftMark struct {
	term uint64
	seq  uint64
}

// encode writes the mark for the fleet's wire: process, term, seq.
func (m shiftMark) encode(proc string) string {
	return proc + "/" + strconv.FormatUint(m.term, 10) + "/" + strconv.FormatUint(m.seq, 10)
}

// decodeMark reads a mark encoded by proc; ok is false for another
// process's mark or an unreadable one.
func decodeMark(s, proc string) (shiftMark, bool) {
	p, rest, ok := strings.Cut(s, "/")
	if !ok || p != proc {
		return shiftMark{}, false
	}
	t, q, ok := strings.Cut(rest, "/")
	if !ok {
		return shiftMark{}, false
	}
	term, err1 := strconv.ParseUint(t, 10, 64)
	seq, err2 := strconv.ParseUint(q, 10, 64)
	if err1 != nil || err2 != nil {
		return shiftMark{}, false
	}
	return shiftMark{term: term, seq: seq}, true
}

// shiftLogSize bounds the log; a mark older than its oldest entry is stale.
const shiftLogSize = 1024

// shiftExclusive is an append's weight on a sheet's semaphore: all of it.
const shiftExclusive = 1 << 30

type shift struct {
	seq   uint64
	sheet string
	row   int // first row inserted; 0: unknown
}

type rowShifts struct {
	mu        sync.Mutex
	term      uint64
	next      uint64          // seq of the next append
	flying    map[uint64]bool // started, not ended
	log       []shift         // ended, oldest first
	forgotten uint64          // marks below it are older than the log
	locks     map[string]*semaphore.Weighted
	// appendWaits, when set (tests), is called when an append has to wait
	// for guarded writes to its sheet.
	appendWaits func(sheet string)
}

func newRowShifts() *rowShifts {
	return &rowShifts{flying: map[uint64]bool{}, locks: map[string]*semaphore.Weighted{}}
}

// newTerm starts a new carrying term: marks handed out before it (by this
// process in an earlier term, when another carrier may have appended in
// between) are stale from now on.
func (s *rowShifts) newTerm() {
	s.mu.Lock()
	s.term++
	s.mu.Unlock()
}

// mark is taken right before a read request goes out: every append with a
// seq at or above it may not be reflected in what the read sees.
func (s *rowShifts) mark() shiftMark {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.next
	for seq := range s.flying {
		m = min(m, seq)
	}
	return shiftMark{term: s.term, seq: m}
}

func (s *rowShifts) sem(sheet string) *semaphore.Weighted {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.locks[sheet]
	if !ok {
		w = semaphore.NewWeighted(shiftExclusive)
		s.locks[sheet] = w
	}
	return w
}

// beginAppend waits until no guarded write to sheet is out and holds the
// sheet; end logs what the append did and lets go of it.
func (s *rowShifts) beginAppend(ctx context.Context, sheet string) (end func(updatedRange string, err error), err error) {
	w := s.sem(sheet)
	if !w.TryAcquire(shiftExclusive) {
		if s.appendWaits != nil {
			s.appendWaits(sheet)
		}
		if err := w.Acquire(ctx, shiftExclusive); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	seq := s.next
	s.next++
	s.flying[seq] = true
	s.mu.Unlock()
	return func(updatedRange string, err error) {
		row := 0
		if err == nil {
			row, _ = firstUpdatedRow(updatedRange) // 0 when unreadable: any row
		}
		s.mu.Lock()
		delete(s.flying, seq)
		if !errors.Is(err, errNotSent) {
			s.log = append(s.log, shift{seq: seq, sheet: sheet, row: row})
		}
		if len(s.log) > shiftLogSize {
			s.forgotten = max(s.forgotten, s.log[0].seq+1)
			s.log = s.log[1:]
		}
		s.mu.Unlock()
		w.Release(shiftExclusive)
	}, nil
}

// reach is, per sheet, the lowest row (the largest row number) that ranges
// touch; a1.Unbounded rows reach the whole sheet.
func reach(ranges []string) (map[string]int, error) {
	out := map[string]int{}
	for _, r := range ranges {
		p, err := a1.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("sheets: %w", err)
		}
		last := p.EndRow
		if last == a1.Unbounded {
			last = a1.MaxRows
		}
		out[p.Sheet] = max(out[p.Sheet], last)
	}
	return out, nil
}

// holdShared waits until no append to any of sheets is out and holds them
// against appends until release.
func (s *rowShifts) holdShared(ctx context.Context, sheets []string) (release func(), err error) {
	sheets = slices.Clone(sheets)
	slices.Sort(sheets) // one order for every holder: no deadlock
	sheets = slices.Compact(sheets)
	var held []*semaphore.Weighted
	release = func() {
		for _, w := range held {
			w.Release(1)
		}
	}
	for _, sh := range sheets {
		w := s.sem(sh)
		if err := w.Acquire(ctx, 1); err != nil {
			release()
			return nil, err
		}
		held = append(held, w)
	}
	return release, nil
}

// stale reports whether an append since m may have moved a row of reach.
// Call it while holding reach's sheets (holdShared): then no append is out
// and the log is complete.
func (s *rowShifts) stale(m shiftMark, reach map[string]int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.term != s.term || m.seq < s.forgotten {
		return true
	}
	for _, sh := range s.log {
		if sh.seq < m.seq {
			continue
		}
		if last, ok := reach[sh.sheet]; ok && (sh.row == 0 || sh.row <= last) {
			return true
		}
	}
	return false
}

// holdJudged holds the sheets the judged writes of batch touch (their data
// and guard ranges) against appends, until release.
func (b *batcher) holdJudged(batch []*updateOp) (release func(), err error) {
	var sheets []string
	var ctxs []context.Context
	for _, op := range batch {
		if op.judged == nil {
			continue
		}
		ctxs = append(ctxs, op.ctx)
		rch, err := op.reach()
		if err != nil {
			return nil, err
		}
		op.judged.reach = rch // for stillJudged
		for sh := range rch {
			sheets = append(sheets, sh)
		}
	}
	if len(sheets) == 0 {
		return func() {}, nil
	}
	ctx, cancel := b.batchContext(ctxs)
	defer cancel()
	return b.shifts.holdShared(ctx, sheets)
}

// stillJudged answers errGuardStale to the judged writes whose rows may
// have moved since their guard was read, and returns the others. It runs
// after holdJudged, which worked out what each write reaches.
func (b *batcher) stillJudged(batch []*updateOp) []*updateOp {
	out := batch[:0:0]
	for _, op := range batch {
		if op.judged != nil {
			if b.shifts.stale(op.judged.mark, op.judged.reach) {
				b.m.guardStale.Inc()
				op.res <- errGuardStale
				continue
			}
		}
		out = append(out, op)
	}
	return out
}

// reach is what a judged write relies on: the rows it writes and the rows
// its guard read.
func (op *updateOp) reach() (map[string]int, error) {
	ranges := slices.Clone(op.judged.ranges)
	for _, v := range op.data {
		ranges = append(ranges, v.Range)
	}
	return reach(ranges)
}
