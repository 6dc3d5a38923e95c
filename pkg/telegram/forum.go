package telegram

import (
	"context"
	"errors"
	"strings"

	"github.com/mymmrac/telego"
)

// Forum supergroups: a group whose getChat says is_forum keeps its
// messages in topics, each a message_thread_id. Telegram's answers about
// topics are classified like the rest (Permanent), so that a caller can act
// on them instead of repeating the request.
var (
	// ErrTopicGone: the topic does not exist (deleted by hand, or a wrong
	// id): "message thread not found", TOPIC_ID_INVALID, TOPIC_DELETED.
	ErrTopicGone = errors.New("telegram: forum topic not found")
	// ErrTopicClosed: the topic is closed and the bot may not post in it
	// (TOPIC_CLOSED); reopening it lets the post through.
	ErrTopicClosed = errors.New("telegram: forum topic is closed")
	// ErrTopicNotModified: closing a closed topic or reopening an open one
	// (TOPIC_NOT_MODIFIED); harmless.
	ErrTopicNotModified = errors.New("telegram: forum topic not modified")
	// ErrNotForum: the chat is not a forum supergroup (topics are off).
	ErrNotForum = errors.New("telegram: the chat is not a forum")
)

// MaxTopicNameLen is Telegram's limit on a topic name (1–128 characters).
const MaxTopicNameLen = 128

// classifyTopic maps Telegram's descriptions of topic errors (d in lower
// case) onto the sentinels above; nil when d is none of them.
func classifyTopic(d string) error {
	switch {
	case strings.Contains(d, "message thread not found") || strings.Contains(d, "topic_id_invalid") ||
		strings.Contains(d, "topic_deleted") || strings.Contains(d, "invalid message thread identifier"):
		return ErrTopicGone
	case strings.Contains(d, "topic_closed"):
		return ErrTopicClosed
	case strings.Contains(d, "topic_not_modified"):
		return ErrTopicNotModified
	case strings.Contains(d, "not a forum") || strings.Contains(d, "channel_forum_missing"):
		return ErrNotForum
	}
	return nil
}

// GetChat reads a chat's full information (is_forum). Not counted against
// the message limits.
func (s *Sender) GetChat(ctx context.Context, chatID int64) (*telego.ChatFullInfo, error) {
	var info *telego.ChatFullInfo
	err := s.do(ctx, "getChat", chatID, Options{}, func(ctx context.Context) error {
		var err error
		info, err = s.Bot.GetChat(ctx, &telego.GetChatParams{ChatID: telego.ChatID{ID: chatID}})
		return err
	})
	return info, err
}

// CreateForumTopic creates a topic. Telegram posts a service message in
// the group for it, so it queues at the limiter like a send.
func (s *Sender) CreateForumTopic(ctx context.Context, p *telego.CreateForumTopicParams, o Options) (*telego.ForumTopic, error) {
	o.Limited = true
	var topic *telego.ForumTopic
	err := s.do(ctx, "createForumTopic", chatIDOf(p.ChatID), o, func(ctx context.Context) error {
		var err error
		topic, err = s.Bot.CreateForumTopic(ctx, p)
		return err
	})
	return topic, err
}

// EditForumTopic renames a topic.
func (s *Sender) EditForumTopic(ctx context.Context, p *telego.EditForumTopicParams) error {
	return s.do(ctx, "editForumTopic", chatIDOf(p.ChatID), Options{}, func(ctx context.Context) error {
		return s.Bot.EditForumTopic(ctx, p)
	})
}

// CloseForumTopic closes a topic.
func (s *Sender) CloseForumTopic(ctx context.Context, p *telego.CloseForumTopicParams) error {
	return s.do(ctx, "closeForumTopic", chatIDOf(p.ChatID), Options{}, func(ctx context.Context) error {
		return s.Bot.CloseForumTopic(ctx, p)
	})
}

// ReopenForumTopic reopens a closed topic.
func (s *Sender) ReopenForumTopic(ctx context.Context, p *telego.ReopenForumTopicParams) error {
	return s.do(ctx, "reopenForumTopic", chatIDOf(p.ChatID), Options{}, func(ctx context.Context) error {
		return s.Bot.ReopenForumTopic(ctx, p)
	})
}
