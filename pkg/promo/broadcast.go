package promo

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/tasks"
)

const (
	// fanOutBatch send tasks are enqueued between two cursor updates;
	// fanOutParallel enqueues are in flight at once (asynq enqueues one task
	// per round trip, so concurrency is how a batch is pipelined).
	fanOutBatch    = 200
	fanOutParallel = 16
)

// errAlreadySent: the promotion was sent (or cancelled mid-way) under this
// id before; sending it again would reach people twice.
var errAlreadySent = errors.New("promo: this promotion was already broadcast")

// start moves a promotion to Отправляется and makes sure its broadcast task
// exists. It is idempotent: the scanner of two pollers, a retried callback
// and a double press all end in one broadcast.
func (s *Service) start(ctx context.Context, p domain.Promotion, operator string) error {
	st, err := s.loadState(ctx, p.ID)
	if err != nil {
		return err
	}
	switch st.Phase {
	case phaseDone:
		return errAlreadySent
	case phaseSending:
		if st.Cancelled {
			return errAlreadySent
		}
		// Running; someone set the row back to Запланировано: restore it.
		return s.setStatus(ctx, p, domain.PromotionSending)
	case phaseAborted:
		// Nothing was sent: start afresh (ensureTask replaces the old task).
		if err := s.d.Redis.Del(ctx, s.perPromoKeys(p.ID)...).Err(); err != nil {
			return promoErr("reset state", p.ID, err)
		}
	}
	key := s.stateKey(p.ID)
	pipe := s.d.Redis.TxPipeline()
	pipe.HSetNX(ctx, key, "phase", phaseStarting)
	if operator != "" {
		pipe.HSet(ctx, key, "operator", operator)
	}
	pipe.Expire(ctx, key, stateTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return promoErr("start", p.ID, err)
	}
	// The row first, then the task: the broadcast must never see its own
	// row still Черновик (that means "cancelled before it began").
	if err := s.setStatus(ctx, p, domain.PromotionSending); err != nil {
		return err
	}
	return s.ensureTask(ctx, p.ID, operator)
}

func (s *Service) setStatus(ctx context.Context, p domain.Promotion, status domain.PromotionStatus) error {
	if p.Status == status {
		return nil
	}
	p.Status = status
	if _, err := s.d.Store.UpdatePromotion(ctx, p, domain.PromotionFieldStatus); err != nil {
		return promoErr("set status", p.ID, err)
	}
	return nil
}

// ensureTask enqueues the broadcast task. The TaskID being taken by a task
// that is still waiting or running is success; taken by one that ended (an
// aborted broadcast being started again), the old task is replaced.
func (s *Service) ensureTask(ctx context.Context, id, operator string) error {
	t, err := tasks.NewPromoBroadcastTask(tasks.PromoBroadcastPayload{PromotionID: id, Operator: operator})
	if err != nil {
		return err
	}
	_, err = s.d.Tasks.EnqueueContext(ctx, t)
	if err == nil {
		return nil
	}
	if !tasks.IsDuplicate(err) {
		return promoErr("enqueue broadcast", id, err)
	}
	info, err := s.d.Inspector.GetTaskInfo(tasks.QueueBroadcast, broadcastTaskID(id))
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound):
		// Gone meanwhile (retention ended): enqueue below.
	case err != nil:
		return promoErr("inspect broadcast task", id, err)
	case info.State != asynq.TaskStateCompleted && info.State != asynq.TaskStateArchived:
		return nil
	default:
		if err := s.d.Inspector.DeleteTask(tasks.QueueBroadcast, info.ID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return promoErr("replace ended broadcast task", id, err)
		}
	}
	if _, err := s.d.Tasks.EnqueueContext(ctx, t); err != nil && !tasks.IsDuplicate(err) {
		return promoErr("enqueue broadcast", id, err)
	}
	return nil
}

// HandleBroadcast (tasks.TypePromoBroadcast) selects the recipients once,
// records them, and fans out one paced send task per recipient. A re-run
// (crash mid-fan-out, retry) reuses the recorded recipients and enqueues only
// what is missing.
func (s *Service) HandleBroadcast(ctx context.Context, t *asynq.Task) error {
	pl, err := tasks.ParsePromoBroadcast(t)
	if err != nil {
		return err
	}
	id := pl.PromotionID
	log := s.d.Log.With("promotion_id", id, "task_type", t.Type())
	st, err := s.loadState(ctx, id)
	if err != nil {
		return err
	}
	switch st.Phase {
	case phaseDone, phaseAborted:
		return nil
	case phaseSending:
		return s.fanOut(ctx, id, st)
	}

	p, err := s.d.Store.Promotion(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		s.fail(ctx, domain.Promotion{ID: id, Title: st.Title}, err.Error()) // no row to mark
		return nil
	}
	if err != nil {
		return s.startFailed(ctx, domain.Promotion{ID: id, Title: st.Title}, err)
	}
	switch p.Status {
	case domain.PromotionDraft:
		// Set back to Черновик before sending began: a cancel with nothing to stop.
		log.Info("promo: broadcast cancelled before it started")
		s.abort(ctx, id, "cancelled")
		return nil
	case domain.PromotionSent, domain.PromotionFailed:
		log.Warn("promo: broadcast not started: the row's status changed", "status", string(p.Status))
		s.abort(ctx, id, "cancelled")
		return nil
	}
	if reason := s.checkContent(p); reason != "" {
		s.fail(ctx, p, reason)
		return nil
	}
	partners, err := s.d.Store.RefreshPartners(ctx)
	if err != nil {
		return s.startFailed(ctx, p, err)
	}
	recipients := selectRecipients(p, partners)
	recorded, err := s.record(ctx, p, recipients)
	if err != nil {
		return err
	}
	if st, err = s.loadState(ctx, id); err != nil {
		return err
	}
	if recorded {
		log.Info("promo: broadcast started", "recipients", st.Total, "audience", audienceLabel(p.Audience), "operator", st.Operator)
		s.broadcasts.WithLabelValues("started").Inc()
	}
	if st.Total == 0 {
		return s.report(ctx, id, true)
	}
	return s.fanOut(ctx, id, st)
}

// record stores the recipients and the content snapshot and moves the
// broadcast to sending (atomically; a concurrent run's record wins).
func (s *Service) record(ctx context.Context, p domain.Promotion, recipients []int64) (bool, error) {
	tmp := s.keys.Key("promo", "staging", p.ID, uuid.NewString())
	for i := 0; i < len(recipients); i += 1000 {
		chunk := recipients[i:min(i+1000, len(recipients))]
		vals := make([]any, len(chunk))
		for j, id := range chunk {
			vals[j] = id
		}
		pipe := s.d.Redis.Pipeline()
		pipe.RPush(ctx, tmp, vals...)
		pipe.Expire(ctx, tmp, time.Hour)
		if _, err := pipe.Exec(ctx); err != nil {
			return false, promoErr("stage recipients", p.ID, err)
		}
	}
	n, err := recordScript.Run(ctx, s.d.Redis,
		[]string{s.stateKey(p.ID), s.recipientsKey(p.ID), tmp, s.activeKey()},
		p.ID, len(recipients), p.Title, p.Text, p.ImageURL, p.Audience, p.Row, s.now().UnixMilli(), int(stateTTL.Seconds())).Int()
	if err != nil {
		return false, promoErr("record recipients", p.ID, err)
	}
	return n == 1, nil
}

// fanOut enqueues the send tasks from the recorded cursor on, paced at the
// global rate, and advances the cursor after each batch.
func (s *Service) fanOut(ctx context.Context, id string, st state) error {
	// asynq schedules by the wall clock, whatever clock the service is given.
	begin, first := time.Now(), st.Enqueued
	interval := time.Duration(float64(time.Second) / s.o.SendRate)
	for cursor := st.Enqueued; cursor < st.Total; {
		cancelled, err := s.d.Redis.HGet(ctx, s.stateKey(id), "cancelled").Result()
		if err == nil && cancelled == "1" {
			return s.truncate(ctx, id, cursor)
		}
		ids, err := s.d.Redis.LRange(ctx, s.recipientsKey(id), int64(cursor), int64(cursor+fanOutBatch-1)).Result()
		if err != nil {
			return promoErr("read recipients", id, err)
		}
		if len(ids) == 0 {
			break
		}
		members := make([]any, len(ids))
		for i, v := range ids {
			members[i] = v
		}
		done, err := s.d.Redis.SMIsMember(ctx, s.processedKey(id), members...).Result()
		if err != nil {
			return promoErr("check processed", id, err)
		}
		if err := s.enqueueSends(ctx, id, ids, done, func(i int) time.Time {
			return begin.Add(time.Duration(cursor+i-first) * interval)
		}); err != nil {
			return err
		}
		cursor += len(ids)
		if err := s.d.Redis.HSet(ctx, s.stateKey(id), "enqueued", cursor).Err(); err != nil {
			return promoErr("advance fan-out", id, err)
		}
	}
	return nil
}

// truncate ends a cancelled fan-out: the broadcast is over once the sends
// already enqueued have run, so the recipient count becomes their number.
func (s *Service) truncate(ctx context.Context, id string, enqueued int) error {
	pipe := s.d.Redis.TxPipeline()
	pipe.HSet(ctx, s.stateKey(id), "total", enqueued)
	processed := pipe.SCard(ctx, s.processedKey(id))
	if _, err := pipe.Exec(ctx); err != nil {
		return promoErr("stop fan-out", id, err)
	}
	s.d.Log.Info("promo: fan-out stopped: broadcast cancelled", "promotion_id", id, "enqueued", enqueued)
	if int(processed.Val()) >= enqueued {
		return s.report(ctx, id, true)
	}
	return nil
}

func (s *Service) enqueueSends(ctx context.Context, id string, ids []string, done []bool, at func(i int) time.Time) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, fanOutParallel)
	)
	for i, raw := range ids {
		if done[i] {
			continue
		}
		uid, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			continue
		}
		t, err := tasks.NewPromoSendTask(tasks.PromoSendPayload{PromotionID: id, TelegramID: uid})
		if err != nil {
			return err
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(when time.Time) {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := s.d.Tasks.EnqueueContext(ctx, t, asynq.ProcessAt(when)); err != nil && !tasks.IsDuplicate(err) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}(at(i))
	}
	wg.Wait()
	if len(errs) > 0 {
		return promoErr("enqueue sends", id, errors.Join(errs...))
	}
	return nil
}

// startFailed handles a sheet error before the fan-out: asynq retries; after
// the last retry the broadcast is marked Ошибка.
func (s *Service) startFailed(ctx context.Context, p domain.Promotion, err error) error {
	if !lastRetry(ctx) {
		return promoErr("broadcast", p.ID, err)
	}
	s.fail(ctx, p, err.Error())
	return promoErr("broadcast", p.ID, err)
}

// fail ends a broadcast that cannot start: the row becomes Ошибка, the
// reason goes to the log and the operators' group.
func (s *Service) fail(ctx context.Context, p domain.Promotion, reason string) {
	ctx = context.WithoutCancel(ctx)
	s.d.Log.Error("promo: broadcast cannot start", "promotion_id", p.ID, "reason", reason)
	if p.Row > 0 {
		if err := s.setStatus(ctx, p, domain.PromotionFailed); err != nil {
			s.d.Log.Error("promo: write Ошибка", "promotion_id", p.ID, "err", err)
		}
	}
	s.abort(ctx, p.ID, "failed")
	s.notifyOperators(ctx, s.render(s.d.Texts.PromoFailed, map[string]any{"Title": titleOf(p), "ID": p.ID, "Reason": reason}))
}

// abort ends a broadcast that sent nothing; it may be started again.
func (s *Service) abort(ctx context.Context, id, outcome string) {
	ctx = context.WithoutCancel(ctx)
	pipe := s.d.Redis.TxPipeline()
	pipe.HSet(ctx, s.stateKey(id), "phase", phaseAborted)
	pipe.Expire(ctx, s.stateKey(id), stateTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		s.d.Log.Error("promo: abort", "promotion_id", id, "err", err)
	}
	s.broadcasts.WithLabelValues(outcome).Inc()
}

// broadcastTaskID is the TaskID tasks.NewPromoBroadcastTask gives a promotion.
func broadcastTaskID(id string) string { return "promo:broadcast:" + id }

func titleOf(p domain.Promotion) string {
	if p.Title != "" {
		return p.Title
	}
	return p.ID
}

func lastRetry(ctx context.Context) bool {
	n, ok1 := asynq.GetRetryCount(ctx)
	m, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= m
}
