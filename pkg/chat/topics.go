package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/mymmrac/telego"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram"
)

// Topics. When the operators' group is a forum supergroup (getChat says
// is_forum; trusted for Options.ForumCheckInterval), every partner gets a
// topic of their own, named "Имя · КОД": the first escalation creates it,
// later ones reopen it. Everything the group gets about the partner — the
// card, forwarded messages, copies, notices — goes into that topic
// (toGroup), and whatever an operator writes there reaches the partner
// with no Reply needed (handlers.go routes a topic message by its
// message_thread_id). /resolve and /ai in the topic, and the card's
// "Решено", close the topic (topics_resolve.go); "Решено" set by hand in
// the sheet closes it at the poller's next scan (topics_scan.go). A group
// that is not a forum keeps the cards-and-replies flow: every thread here
// is then 0.
//
// The topic id lives with the partner: the Auth sheet's operators_topic_id
// (ours), so it survives anything. Redis keeps the index every worker reads
// (partner → topic and its name, topic → partner, the open topics), written
// first and rebuilt from the sheet when missing; it wins over the sheet
// while it has a record, so a topic just made again is never taken for
// the deleted one a stale cache still shows.
//
// Telegram's answers are acted on, never repeated: a closed topic
// (TOPIC_CLOSED) is reopened and the send made again; a deleted one
// ("message thread not found", TOPIC_ID_INVALID) is made again, its id
// stored, and the send made again — once. Topics are created at most
// topicCreatesPerWindow times per partner per topicCreateWindow: a topic
// that keeps disappearing (or cannot be created) sends the partner's
// messages to the group's General topic meanwhile (never lost, and a Reply
// there still reaches the partner), never into a loop of creations.

const (
	defaultForumCheck     = 5 * time.Minute
	topicCreateWindow     = 10 * time.Minute
	topicCreatesPerWindow = 3
)

// forumCache is the last getChat answer about the operators' group.
type forumCache struct {
	mu    sync.Mutex
	known bool
	forum bool
	at    time.Time
}

// isForum reports whether the operators' group is a forum supergroup. A
// group Telegram refuses to describe (permanent error) is flat; while
// Telegram is unreachable the last answer stands (none: the error).
func (s *Service) isForum(ctx context.Context) (bool, error) {
	if s.d.Forum == nil || s.o.OperatorsChatID == 0 {
		return false, nil
	}
	c := &s.forum
	ttl := s.o.ForumCheckInterval
	if ttl <= 0 {
		ttl = defaultForumCheck
	}
	c.mu.Lock()
	known, forum, fresh := c.known, c.forum, time.Since(c.at) < ttl
	c.mu.Unlock()
	if known && fresh {
		return forum, nil
	}
	info, err := s.d.Forum.GetChat(ctx, s.o.OperatorsChatID)
	switch {
	case err == nil:
		forum = info.IsForum
	case telegram.Permanent(err):
		s.log.Error("getChat of the operators' group refused; treating it as a group without topics", "chat_id", s.o.OperatorsChatID, "err", err)
		forum = false
	case known:
		return forum, nil
	default:
		return false, fmt.Errorf("chat: is the operators' group a forum: %w", err)
	}
	s.setForum(forum)
	return forum, nil
}

func (s *Service) setForum(forum bool) {
	s.forum.mu.Lock()
	defer s.forum.mu.Unlock()
	s.forum.known, s.forum.forum, s.forum.at = true, forum, time.Now()
}

// topicRec is a partner's topic as the index has it; thread 0 is none (a
// record of a topic found gone, so the sheet's stale id is not used again).
type topicRec struct {
	thread int
	name   string
}

func (s *Service) topicKey(uid int64) string { return s.keys.Key("chat", "topic", uidStr(uid)) }
func (s *Service) topicUserKey(thread int) string {
	return s.keys.Key("chat", "topic_user", strconv.Itoa(thread))
}
func (s *Service) openTopicsKey() string { return s.keys.Key("chat", "topics_open") }
func (s *Service) topicCreatesKey(uid int64) string {
	return s.keys.Key("chat", "topic_creates", uidStr(uid))
}

// topicOf is the partner's topic: the index's record, else the Auth row's
// operators_topic_id (then recorded in the index).
func (s *Service) topicOf(ctx context.Context, uid int64) (topicRec, error) {
	vals, err := s.d.Redis.HGetAll(ctx, s.topicKey(uid)).Result()
	if err != nil {
		return topicRec{}, fmt.Errorf("chat: topic of %d: %w", uid, err)
	}
	if v, ok := vals["thread"]; ok {
		thread, _ := strconv.Atoi(v)
		return topicRec{thread: thread, name: vals["name"]}, nil
	}
	p, found, err := s.d.Store.PartnerByTelegramID(ctx, uid)
	if err != nil || !found || p.OperatorsTopicID == 0 {
		return topicRec{}, err
	}
	rec := topicRec{thread: p.OperatorsTopicID} // its name is unknown: checked at the next escalation
	return rec, s.indexTopic(ctx, uid, rec)
}

// indexTopic records the partner's topic in the index (both directions).
func (s *Service) indexTopic(ctx context.Context, uid int64, rec topicRec) error {
	pipe := s.d.Redis.TxPipeline()
	pipe.HSet(ctx, s.topicKey(uid), "thread", rec.thread, "name", rec.name)
	if rec.thread != 0 {
		pipe.Set(ctx, s.topicUserKey(rec.thread), uid, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("chat: topic index of %d: %w", uid, err)
	}
	return nil
}

// userOfTopic is the partner whose topic thread is: the index, else the
// Auth sheet (then recorded in the index).
func (s *Service) userOfTopic(ctx context.Context, thread int) (int64, bool, error) {
	uid, err := s.d.Redis.Get(ctx, s.topicUserKey(thread)).Int64()
	if err == nil {
		return uid, true, nil
	}
	if !errors.Is(err, redis.Nil) {
		return 0, false, fmt.Errorf("chat: partner of topic %d: %w", thread, err)
	}
	ps, err := s.d.Store.Partners(ctx)
	if err != nil {
		return 0, false, err
	}
	for _, p := range ps {
		if p.OperatorsTopicID == thread && p.TelegramID != 0 {
			if err := s.d.Redis.Set(ctx, s.topicUserKey(thread), p.TelegramID, 0).Err(); err != nil {
				return 0, false, fmt.Errorf("chat: partner of topic %d: %w", thread, err)
			}
			return p.TelegramID, true, nil
		}
	}
	return 0, false, nil
}

// keepTopicWithPartner writes the topic id into the partner's Auth row
// unless it is there already. A failed write is logged and made again the
// next time the topic is opened: the index has the topic meanwhile.
func (s *Service) keepTopicWithPartner(ctx context.Context, uid int64, thread int) {
	p, found, err := s.d.Store.PartnerByTelegramID(ctx, uid)
	if err == nil && (!found || p.OperatorsTopicID == thread) {
		return
	}
	if err == nil {
		err = fence(ctx)
	}
	if err == nil {
		err = s.d.Store.SetOperatorsTopic(ctx, uid, thread)
	}
	if err != nil {
		s.log.Warn("the partner's topic id is not in the Auth sheet yet (kept in Redis; written again at the next escalation)",
			"telegram_id", uid, "topic_id", thread, "err", err)
	}
}

// topicName is "Имя · КОД" within Telegram's 128 characters: the name is
// shortened (with "…"), never the code.
func topicName(p domain.Partner, uid int64) string {
	name, code := oneLine(p.FullName), oneLine(p.Code)
	if name == "" {
		name = "Telegram " + uidStr(uid)
	}
	suffix := ""
	if code != "" {
		suffix = " · " + code
	}
	room := telegram.MaxTopicNameLen - utf16Len(suffix)
	if room < 8 { // an absurd code: keep what fits of the whole
		return cutUTF16(name+suffix, telegram.MaxTopicNameLen)
	}
	if utf16Len(name) > room {
		name = strings.TrimSpace(cutUTF16(name, room-1)) + "…"
	}
	return name + suffix
}

// oneLine turns control characters and runs of spaces into single spaces.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// cutUTF16 keeps the longest prefix of s within n UTF-16 code units.
func cutUTF16(s string, n int) string {
	used := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if used+w > n {
			return s[:i]
		}
		used += w
	}
	return s
}

// groupThread is where messages about uid go in the operators' group: 0 in
// a group without topics; in a forum the partner's topic, created when
// there is none (0, the General topic, when none can be had).
func (s *Service) groupThread(ctx context.Context, uid int64) (int, error) {
	forum, err := s.isForum(ctx)
	if err != nil || !forum {
		return 0, err
	}
	rec, err := s.topicOf(ctx, uid)
	if err != nil || rec.thread != 0 {
		return rec.thread, err
	}
	return s.createTopic(ctx, uid)
}

// toGroup sends something about uid to the operators' group: send gets the
// thread (0: none). A closed topic is reopened and a deleted one made
// again, and send runs again; a topic gone again right after it was made
// sends this one to the General topic. At most four sends; what fails for
// another reason is returned as it is.
func (s *Service) toGroup(ctx context.Context, uid int64, send func(thread int) error) error {
	thread, err := s.groupThread(ctx, uid)
	if err != nil {
		return err
	}
	recreated := false
	for tries := 0; ; tries++ {
		err = send(thread)
		if err == nil || thread == 0 || tries == 3 {
			return err
		}
		if errors.Is(err, telegram.ErrTopicClosed) {
			if err = s.reopenTopic(ctx, uid, thread); err == nil {
				continue
			}
		}
		switch {
		case !errors.Is(err, telegram.ErrTopicGone):
			return err
		case recreated:
			s.log.Warn("the partner's new topic is gone again; this message goes to the General topic", "telegram_id", uid, "topic_id", thread)
			thread = 0
		default:
			recreated = true
			if thread, err = s.topicGone(ctx, uid, thread); err != nil {
				return err
			}
		}
	}
}

// createTopic makes the partner's topic and records it (index first, then
// the Auth row). Beyond topicCreatesPerWindow creations, or when Telegram
// refuses for good, it returns 0: the General topic.
func (s *Service) createTopic(ctx context.Context, uid int64) (int, error) {
	key := s.topicCreatesKey(uid)
	n, err := s.d.Redis.Incr(ctx, key).Result()
	if err != nil {
		return 0, fmt.Errorf("chat: topic of %d: %w", uid, err)
	}
	if n == 1 {
		if err := s.d.Redis.Expire(ctx, key, topicCreateWindow).Err(); err != nil {
			s.d.Redis.Del(ctx, key)
			return 0, fmt.Errorf("chat: topic of %d: %w", uid, err)
		}
	}
	if n > topicCreatesPerWindow {
		s.metrics.escalation.WithLabelValues("topic_not_created").Inc()
		s.log.Warn("the partner's topic keeps disappearing; their messages go to the General topic for now",
			"telegram_id", uid, "topics_created", n-1, "window", topicCreateWindow)
		return 0, nil
	}
	p, _, err := s.d.Store.PartnerByTelegramID(ctx, uid)
	if err != nil {
		s.d.Redis.Decr(ctx, key)
		return 0, err
	}
	name := topicName(p, uid)
	topic, err := s.d.Forum.CreateForumTopic(ctx, &telego.CreateForumTopicParams{ChatID: telego.ChatID{ID: s.o.OperatorsChatID}, Name: name}, chatSend)
	switch {
	case errors.Is(err, telegram.ErrNotForum):
		s.log.Warn("the operators' group is no longer a forum; cards and replies as in a group without topics", "err", err)
		s.setForum(false)
		return 0, nil
	case err != nil && telegram.Permanent(err):
		s.metrics.escalation.WithLabelValues("topic_not_created").Inc()
		s.log.Error("Telegram refused to create the partner's topic (does the bot have the right to manage topics?); the General topic instead",
			"telegram_id", uid, "err", err)
		return 0, nil
	case err != nil:
		s.d.Redis.Decr(ctx, key)
		return 0, fmt.Errorf("chat: create the topic of %d: %w", uid, err)
	}
	s.metrics.escalation.WithLabelValues("topic_created").Inc()
	rec := topicRec{thread: topic.MessageThreadID, name: name}
	if err := s.indexTopic(ctx, uid, rec); err != nil {
		return 0, err
	}
	if err := s.d.Redis.SAdd(ctx, s.openTopicsKey(), uid).Err(); err != nil {
		return 0, fmt.Errorf("chat: open topics: %w", err)
	}
	s.keepTopicWithPartner(ctx, uid, rec.thread)
	return rec.thread, nil
}

// topicGone forgets a deleted topic and makes the partner a new one.
func (s *Service) topicGone(ctx context.Context, uid int64, thread int) (int, error) {
	s.metrics.escalation.WithLabelValues("topic_gone").Inc()
	s.log.Warn("the partner's topic was deleted; making a new one", "telegram_id", uid, "topic_id", thread)
	pipe := s.d.Redis.TxPipeline()
	pipe.HSet(ctx, s.topicKey(uid), "thread", 0, "name", "")
	pipe.Del(ctx, s.topicUserKey(thread))
	pipe.SRem(ctx, s.openTopicsKey(), uid)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("chat: forget topic %d: %w", thread, err)
	}
	return s.createTopic(ctx, uid)
}

// reopenTopic reopens the topic (one that is open already is fine) and
// marks it open for the scanner.
func (s *Service) reopenTopic(ctx context.Context, uid int64, thread int) error {
	err := s.d.Forum.ReopenForumTopic(ctx, &telego.ReopenForumTopicParams{ChatID: telego.ChatID{ID: s.o.OperatorsChatID}, MessageThreadID: thread})
	if err != nil && !errors.Is(err, telegram.ErrTopicNotModified) {
		return fmt.Errorf("chat: reopen topic %d: %w", thread, err)
	}
	if err == nil {
		s.metrics.escalation.WithLabelValues("topic_reopened").Inc()
	}
	if err := s.d.Redis.SAdd(ctx, s.openTopicsKey(), uid).Err(); err != nil {
		return fmt.Errorf("chat: open topics: %w", err)
	}
	return nil
}

// openTopic is the topic side of an escalation: the partner's topic exists
// and is open (created, reopened or made again), and is named after the
// partner as the sheet has them now. Running it again changes nothing.
func (s *Service) openTopic(ctx context.Context, uid int64, p domain.Partner) error {
	forum, err := s.isForum(ctx)
	if err != nil || !forum {
		return err
	}
	rec, err := s.topicOf(ctx, uid)
	if err != nil {
		return err
	}
	if rec.thread == 0 {
		_, err := s.createTopic(ctx, uid)
		return err
	}
	err = s.reopenTopic(ctx, uid, rec.thread)
	if errors.Is(err, telegram.ErrTopicGone) {
		_, err = s.topicGone(ctx, uid, rec.thread)
		return err
	}
	if err != nil {
		return err
	}
	s.keepTopicWithPartner(ctx, uid, rec.thread)
	if name := topicName(p, uid); name != rec.name {
		s.renameTopic(ctx, uid, rec, name)
	}
	return nil
}

// renameTopic follows the partner's name in the sheet; a refusal is only
// logged (the topic works under its old name).
func (s *Service) renameTopic(ctx context.Context, uid int64, rec topicRec, name string) {
	err := s.d.Forum.EditForumTopic(ctx, &telego.EditForumTopicParams{ChatID: telego.ChatID{ID: s.o.OperatorsChatID}, MessageThreadID: rec.thread, Name: name})
	if err != nil && !errors.Is(err, telegram.ErrTopicNotModified) {
		s.log.Warn("the partner's topic not renamed", "telegram_id", uid, "topic_id", rec.thread, "err", err)
		return
	}
	rec.name = name
	if err := s.indexTopic(ctx, uid, rec); err != nil {
		s.log.Warn("topic index", "telegram_id", uid, "err", err)
	}
}

// closeTopic closes the partner's topic (nothing in a flat group or
// without a topic). A topic gone or closed already is fine.
func (s *Service) closeTopic(ctx context.Context, uid int64) error {
	forum, err := s.isForum(ctx)
	if err != nil || !forum {
		return err
	}
	rec, err := s.topicOf(ctx, uid)
	if err != nil || rec.thread == 0 {
		return err
	}
	err = s.d.Forum.CloseForumTopic(ctx, &telego.CloseForumTopicParams{ChatID: telego.ChatID{ID: s.o.OperatorsChatID}, MessageThreadID: rec.thread})
	switch {
	case err == nil:
		s.metrics.escalation.WithLabelValues("topic_closed").Inc()
	case errors.Is(err, telegram.ErrTopicNotModified):
	case errors.Is(err, telegram.ErrTopicGone):
		// Deleted by hand: the next escalation makes a new one.
		if err := s.d.Redis.HSet(ctx, s.topicKey(uid), "thread", 0, "name", "").Err(); err != nil {
			return fmt.Errorf("chat: forget topic %d: %w", rec.thread, err)
		}
	case telegram.Permanent(err):
		s.log.Error("the partner's topic not closed: Telegram refused", "telegram_id", uid, "topic_id", rec.thread, "err", err)
	default:
		return fmt.Errorf("chat: close topic %d: %w", rec.thread, err)
	}
	return s.d.Redis.SRem(ctx, s.openTopicsKey(), uid).Err()
}

// inTopic reports whether an operators' group message was written in a
// forum topic (not the General topic).
func inTopic(m *telego.Message) bool {
	return m != nil && m.IsTopicMessage && m.MessageThreadID > 1
}

// serviceMessage reports a message Telegram posts about the group itself
// (a topic created, closed, reopened, edited; members; a pin): nothing an
// operator wrote to a partner.
func serviceMessage(m *telego.Message) bool {
	return m.ForumTopicCreated != nil || m.ForumTopicEdited != nil || m.ForumTopicClosed != nil || m.ForumTopicReopened != nil ||
		m.GeneralForumTopicHidden != nil || m.GeneralForumTopicUnhidden != nil || m.PinnedMessage != nil ||
		len(m.NewChatMembers) > 0 || m.LeftChatMember != nil || m.NewChatTitle != ""
}
