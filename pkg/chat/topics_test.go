package chat

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/mymmrac/telego"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/tasks"
	"marketingbot/pkg/telegram"
)

var _ Forum = (*fakeForum)(nil)

// fakeForum is the operators' group as a forum: topics in memory, and the
// answers Telegram gives about them, also for the sends into a topic (it
// hooks the bench's sender).
type fakeForum struct {
	mu       sync.Mutex
	forum    bool
	getChats int
	next     int
	topics   map[int]*fakeTopic
	creates  []string // names
	reopens  int
	closes   int
	renames  []string
	markups  []int    // cards whose buttons were removed
	posts    []posted // messages the bench sent to the group

	// CreateFn, when set, decides a creation: an error, or deleted makes a
	// topic that is gone at once.
	CreateFn func() (deleted bool, err error)
	// postsInClosed: the bot may post into a closed topic (an admin with
	// the right to manage topics); otherwise TOPIC_CLOSED, as the emulator.
	postsInClosed bool
}

type fakeTopic struct {
	name            string
	closed, deleted bool
}

type posted struct {
	thread int
	text   string
}

func (f *fakeForum) GetChat(_ context.Context, chatID int64) (*telego.ChatFullInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.getChats++
	return &telego.ChatFullInfo{ID: chatID, Type: "supergroup", IsForum: f.forum}, nil
}

func (f *fakeForum) CreateForumTopic(_ context.Context, p *telego.CreateForumTopicParams, _ telegram.Options) (*telego.ForumTopic, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.forum {
		return nil, fmt.Errorf("%w: Bad Request: the chat is not a forum", telegram.ErrNotForum)
	}
	deleted := false
	if f.CreateFn != nil {
		var err error
		if deleted, err = f.CreateFn(); err != nil {
			return nil, err
		}
	}
	if n := len(utf16.Encode([]rune(p.Name))); n == 0 || n > telegram.MaxTopicNameLen {
		return nil, fmt.Errorf("%w: Bad Request: topic name of %d units", telegram.ErrRejected, n)
	}
	f.next++
	id := 100 + f.next
	f.topics[id] = &fakeTopic{name: p.Name, deleted: deleted}
	f.creates = append(f.creates, p.Name)
	return &telego.ForumTopic{MessageThreadID: id, Name: p.Name}, nil
}

func (f *fakeForum) topic(thread int) (*fakeTopic, error) {
	t := f.topics[thread]
	if t == nil || t.deleted {
		return nil, fmt.Errorf("%w: Bad Request: TOPIC_ID_INVALID", telegram.ErrTopicGone)
	}
	return t, nil
}

func (f *fakeForum) EditForumTopic(_ context.Context, p *telego.EditForumTopicParams) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.topic(p.MessageThreadID)
	if err != nil {
		return err
	}
	if t.name == p.Name {
		return fmt.Errorf("%w: Bad Request: TOPIC_NOT_MODIFIED", telegram.ErrTopicNotModified)
	}
	t.name = p.Name
	f.renames = append(f.renames, p.Name)
	return nil
}

func (f *fakeForum) setClosed(thread int, closed bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.topic(thread)
	if err != nil {
		return err
	}
	if t.closed == closed {
		return fmt.Errorf("%w: Bad Request: TOPIC_NOT_MODIFIED", telegram.ErrTopicNotModified)
	}
	t.closed = closed
	if closed {
		f.closes++
	} else {
		f.reopens++
	}
	return nil
}

func (f *fakeForum) CloseForumTopic(_ context.Context, p *telego.CloseForumTopicParams) error {
	return f.setClosed(p.MessageThreadID, true)
}

func (f *fakeForum) ReopenForumTopic(_ context.Context, p *telego.ReopenForumTopicParams) error {
	return f.setClosed(p.MessageThreadID, false)
}

func (f *fakeForum) EditMessageReplyMarkup(_ context.Context, p *telego.EditMessageReplyMarkupParams) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.markups = append(f.markups, p.MessageID)
	return nil
}

// send is Telegram's verdict on a message into the group: a deleted topic
// is "message thread not found", a closed one TOPIC_CLOSED.
func (f *fakeForum) send(p *telego.SendMessageParams) error {
	if p.ChatID.ID != operatorsChat {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if th := p.MessageThreadID; th != 0 {
		t := f.topics[th]
		switch {
		case t == nil || t.deleted:
			return fmt.Errorf("%w: Bad Request: message thread not found", telegram.ErrTopicGone)
		case t.closed && !f.postsInClosed:
			return fmt.Errorf("%w: Bad Request: TOPIC_CLOSED", telegram.ErrTopicClosed)
		}
	}
	f.posts = append(f.posts, posted{thread: p.MessageThreadID, text: p.Text})
	return nil
}

// in returns the texts posted in a thread of the group (0: General).
func (f *fakeForum) in(thread int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.posts {
		if p.thread == thread {
			out = append(out, p.text)
		}
	}
	return out
}

func (f *fakeForum) state(thread int) fakeTopic {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.topics[thread]; t != nil {
		return *t
	}
	return fakeTopic{}
}

// deleteByHand is a person deleting the topic.
func (f *fakeForum) deleteByHand(thread int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.topics[thread].deleted = true
}

// forumBench is an authorized partner and an operators' group that is a
// forum (or not).
func forumBench(t *testing.T, forum bool) (*bench, *fakeForum) {
	b := authorizedBench(t, nil)
	f := &fakeForum{forum: forum, topics: map[int]*fakeTopic{}}
	b.s.d.Forum = f
	b.sender.SendMessageFn = f.send
	return b, f
}

// topicMessage is an operator's message written in topic thread (no reply:
// Telegram then names the topic's creation message as reply_to_message).
func (b *bench) topicMessage(thread int, text string) item {
	b.mu.Lock()
	b.message++
	mid := b.message + 5000
	b.mu.Unlock()
	raw := fmt.Sprintf(`{"update_id":0,"message":{"message_id":%d,"message_thread_id":%d,"is_topic_message":true,"from":{"id":77,"is_bot":false,"first_name":"Ольга","last_name":"Оператор"},"chat":{"id":%d,"type":"supergroup","is_forum":true},"date":%d,"text":%q,"reply_to_message":{"message_id":%d,"message_thread_id":%d,"date":1,"chat":{"id":%d,"type":"supergroup"},"forum_topic_created":{"name":"x","icon_color":7322096}}}}`,
		mid, thread, operatorsChat, b.clock().Unix(), text, thread, thread, operatorsChat)
	return b.payloadIn(tasks.TypeOperatorMessage, 77, operatorsChat, tasks.KindOperator, []byte(raw))
}

// partnerTopic is the partner's topic as the Auth row has it.
func partnerTopic(t *testing.T, b *bench) int {
	t.Helper()
	return b.store.partner("P-0001").OperatorsTopicID
}

func TestTopicName(t *testing.T) {
	long := strings.Repeat("Константинопольская ", 10)
	emoji := strings.Repeat("🏠", 70) // two UTF-16 units each
	cases := []struct {
		name string
		p    domain.Partner
		want string
	}{
		{"name and code", domain.Partner{FullName: "Иванова Мария Петровна", Code: "P-0001"}, "Иванова Мария Петровна · P-0001"},
		{"lines and spaces", domain.Partner{FullName: " Иванова\nМария \t ", Code: " P-1 "}, "Иванова Мария · P-1"},
		{"no name", domain.Partner{Code: "P-1"}, "Telegram 7001 · P-1"},
		{"no code", domain.Partner{FullName: "Мария"}, "Мария"},
	}
	for _, tc := range cases {
		if got := topicName(tc.p, 7001); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, full := range []string{long, emoji} {
		got := topicName(domain.Partner{FullName: full, Code: "AGN-014"}, 7001)
		if n := len(utf16.Encode([]rune(got))); n > telegram.MaxTopicNameLen || n < telegram.MaxTopicNameLen-2 {
			t.Errorf("%q: %d UTF-16 units, want the limit (%d) used", got, n, telegram.MaxTopicNameLen)
		}
		if !strings.HasSuffix(got, "… · AGN-014") {
			t.Errorf("%q: want the name shortened, the code kept", got)
		}
	}
	if got := topicName(domain.Partner{FullName: "Мария", Code: strings.Repeat("X", 300)}, 7001); len(utf16.Encode([]rune(got))) > telegram.MaxTopicNameLen {
		t.Errorf("an absurd code: %d units", len(got))
	}
}

// The first escalation creates the partner's topic, keeps its id with the
// partner, and everything about the partner goes into it: the card (which
// says to write there), the partner's texts, copies of media.
func TestTopicCreatedAtEscalation(t *testing.T) {
	b, f := forumBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора, пожалуйста"))
	if len(f.creates) != 1 || f.creates[0] != "Иванова Мария Петровна · P-0001" {
		t.Fatalf("topics created: %q", f.creates)
	}
	thread := partnerTopic(t, b)
	if thread == 0 {
		t.Fatal("the topic id is not in the partner's Auth row")
	}
	card := f.in(thread)
	if len(card) != 1 || !strings.Contains(card[0], "Новое обращение") || !strings.Contains(card[0], "/resolve") || strings.Contains(card[0], "(Reply)") {
		t.Fatalf("in the topic: %q", card)
	}
	b.handle(b.text(partnerUID, "Уточню: объект в Казани"))
	b.handle(b.media(partnerUID, "media", `"voice":{"file_id":"v","file_unique_id":"u","duration":3}`))
	if got := f.in(thread); len(got) != 3 || !strings.Contains(got[1], "Уточню: объект в Казани") {
		t.Fatalf("in the topic: %q", got)
	}
	if len(b.sender.copies) != 1 || b.sender.copies[0].MessageThreadID != thread {
		t.Fatalf("the voice message was not copied into the topic: %+v", b.sender.copies)
	}
	if n := len(f.in(0)); n != 0 {
		t.Fatalf("%d messages in General", n)
	}
	if len(f.creates) != 1 {
		t.Fatalf("topics created: %q", f.creates)
	}
}

// Whatever an operator writes in the topic reaches the partner, no Reply
// needed, and is written to the history first; commands other than ours,
// Telegram's service messages and topics that are no partner's are not
// relayed.
func TestTopicMessageReachesPartner(t *testing.T) {
	b, f := forumBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора"))
	thread := partnerTopic(t, b)
	before := len(b.sender.to(partnerUID))
	b.handle(b.topicMessage(thread, "Добрый день! Комиссия — 2,5 %."))
	if got := lastText(t, b, partnerUID); !strings.Contains(got, "Ольга Оператор") || !strings.Contains(got, "Комиссия — 2,5 %.") {
		t.Fatalf("partner got %q", got)
	}
	_, turns := rowOf(t, b, partnerUID)
	if last := turns[len(turns)-1]; last.Role != "operator" || last.Text != "Добрый день! Комиссия — 2,5 %." {
		t.Fatalf("history ends with %+v", last)
	}
	b.handle(b.topicMessage(thread, "/promo 5"))
	b.handle(b.topicMessage(thread+50, "чужая тема"))
	closed := b.topicMessage(thread, "")
	closed.Payload.Update = []byte(strings.Replace(string(closed.Payload.Update), `"text":""`, `"forum_topic_closed":{}`, 1))
	b.handle(closed)
	if n := len(b.sender.to(partnerUID)); n != before+1 {
		t.Fatalf("partner got %d messages, want only the operator's one", n-before)
	}
	if f.closes != 0 {
		t.Fatal("a service message closed something")
	}
}

// /resolve in the topic: Решено in the sheet, the partner told, the card's
// buttons gone, the topic closed. The same partner escalating again gets
// the same topic, reopened, with a new card.
func TestTopicResolveAndReuse(t *testing.T) {
	b, f := forumBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора"))
	thread := partnerTopic(t, b)
	b.handle(b.topicMessage(thread, "/resolve"))
	rows := b.store.rows(partnerUID)
	if len(rows) != 1 || rows[0].Status != domain.AppealStatusResolved || rows[0].Operator != "Ольга Оператор" {
		t.Fatalf("rows %+v", rows)
	}
	if got := b.sender.to(partnerUID); got[len(got)-2].text != b.tx.Resolved || got[len(got)-1].text != b.tx.RatingQuestion {
		t.Fatalf("partner got %q, then %q (want the rating question)", got[len(got)-2].text, got[len(got)-1].text)
	}
	if !f.state(thread).closed || len(f.markups) != 1 {
		t.Fatalf("topic %+v, cards without buttons %v", f.state(thread), f.markups)
	}
	if got := f.in(thread); !strings.Contains(got[len(got)-1], "Решено: Ольга Оператор") {
		t.Fatalf("last line in the topic %q", got[len(got)-1])
	}

	b.handle(b.text(partnerUID, "Снова нужен оператор"))
	if len(f.creates) != 1 || f.reopens != 1 || f.state(thread).closed {
		t.Fatalf("creates %q, reopens %d, topic %+v: want the topic reused and reopened", f.creates, f.reopens, f.state(thread))
	}
	if got := f.in(thread); !strings.Contains(got[len(got)-1], "Новое обращение") || !strings.Contains(got[len(got)-1], "Снова нужен оператор") {
		t.Fatalf("no new card in the topic: %q", got)
	}
	if rows := b.store.rows(partnerUID); len(rows) != 2 || rows[1].Status != domain.AppealStatusEscalated {
		t.Fatalf("rows %+v", rows)
	}
}

// A topic deleted by hand is made again at the next message and its id
// stored; a topic that keeps vanishing is made a bounded number of times,
// the messages going to General meanwhile (never lost, never a loop).
func TestTopicDeletedIsRecreated(t *testing.T) {
	b, f := forumBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора"))
	first := partnerTopic(t, b)
	f.deleteByHand(first)
	b.handle(b.text(partnerUID, "Вы здесь?"))
	second := partnerTopic(t, b)
	if second == first || second == 0 || len(f.creates) != 2 {
		t.Fatalf("topic %d → %d, creates %q", first, second, f.creates)
	}
	if got := f.in(second); len(got) != 1 || !strings.Contains(got[0], "Вы здесь?") {
		t.Fatalf("in the new topic: %q", got)
	}
	if uid, ok, err := b.s.userOfTopic(context.Background(), second); err != nil || !ok || uid != partnerUID {
		t.Fatalf("topic %d → %d %v %v", second, uid, ok, err)
	}

	f.CreateFn = func() (bool, error) { return true, nil } // every new topic is gone at once
	f.deleteByHand(second)
	for i := range 5 {
		b.handle(b.text(partnerUID, fmt.Sprintf("сообщение %d", i)))
	}
	if n := len(f.creates); n != topicCreatesPerWindow {
		t.Fatalf("%d topics created, want the bound %d", n, topicCreatesPerWindow)
	}
	general := f.in(0)
	if len(general) != 5 || !strings.Contains(general[4], "сообщение 4") {
		t.Fatalf("General got %q, want every message", general)
	}
	b.mr.FastForward(topicCreateWindow)
	f.CreateFn = nil
	b.handle(b.text(partnerUID, "после паузы"))
	if third := partnerTopic(t, b); len(f.creates) != topicCreatesPerWindow+1 || len(f.in(third)) != 1 {
		t.Fatalf("after the window: creates %q, topic %d has %q", f.creates, third, f.in(third))
	}
}

// A topic closed by hand while the partner waits is reopened by the next
// message (Telegram answers TOPIC_CLOSED).
func TestTopicClosedByHandIsReopened(t *testing.T) {
	b, f := forumBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора"))
	thread := partnerTopic(t, b)
	if err := f.setClosed(thread, true); err != nil {
		t.Fatal(err)
	}
	b.handle(b.text(partnerUID, "Ау?"))
	if f.state(thread).closed || len(f.creates) != 1 {
		t.Fatalf("topic %+v, creates %q", f.state(thread), f.creates)
	}
	if got := f.in(thread); !strings.Contains(got[len(got)-1], "Ау?") {
		t.Fatalf("in the topic: %q", got)
	}
}

// The topic is kept with the partner: with Redis emptied, the thread →
// partner mapping and the partner's topic come from the Auth sheet.
func TestTopicIndexRebuiltFromTheSheet(t *testing.T) {
	b, f := forumBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора"))
	thread := partnerTopic(t, b)
	b.mr.Del(b.s.topicKey(partnerUID))
	b.mr.Del(b.s.topicUserKey(thread))
	b.handle(b.topicMessage(thread, "Отвечаю после перезапуска"))
	if got := lastText(t, b, partnerUID); !strings.Contains(got, "Отвечаю после перезапуска") {
		t.Fatalf("partner got %q", got)
	}
	b.handle(b.text(partnerUID, "Спасибо"))
	if got := f.in(thread); !strings.Contains(got[len(got)-1], "Спасибо") || len(f.creates) != 1 {
		t.Fatalf("in the topic %q, creates %q", got, f.creates)
	}
}

// /ai hands the partner back to the AI: Ответ ИИ in the same row, the
// partner told, the topic closed, and the AI answers the next message.
func TestTopicBackToAI(t *testing.T) {
	b, f := forumBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора"))
	thread := partnerTopic(t, b)
	b.handle(b.topicMessage(thread, "/ai"))
	row, turns := rowOf(t, b, partnerUID)
	if row.Status != domain.AppealStatusAIAnswered || !strings.Contains(turns[len(turns)-1].Text, "вернул диалог ИИ") {
		t.Fatalf("status %s, last line %+v", row.Status, turns[len(turns)-1])
	}
	if got := lastText(t, b, partnerUID); got != b.tx.BackToAI {
		t.Fatalf("partner got %q", got)
	}
	if !f.state(thread).closed {
		t.Fatal("the topic stays open")
	}
	b.handle(b.text(partnerUID, "Какая комиссия?"))
	if len(b.gen.calls()) != 1 || len(b.store.rows(partnerUID)) != 1 {
		t.Fatalf("AI calls %d, rows %d: want the AI to answer in the same row", len(b.gen.calls()), len(b.store.rows(partnerUID)))
	}
}

// Решено typed into the sheet closes the topic at the scanner's next pass,
// with a line saying so; a pass with nothing open reads nothing.
func TestTopicResolvedInSheetClosedByScanner(t *testing.T) {
	b, f := forumBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора"))
	thread := partnerTopic(t, b)
	scanner := b.s.TopicScanner()
	ctx := context.Background()
	if err := scanner.Scan(ctx); err != nil || f.closes != 0 {
		t.Fatalf("scan of an escalated appeal: %v, %d closes", err, f.closes)
	}
	b.store.mu.Lock()
	b.store.appeals[0].Status = domain.AppealStatusResolved
	b.store.mu.Unlock()
	if err := scanner.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if !f.state(thread).closed {
		t.Fatal("the topic is not closed")
	}
	if got := f.in(thread); got[len(got)-1] != b.tx.TopicResolvedInSheet {
		t.Fatalf("last line %q", got[len(got)-1])
	}
	if len(f.markups) != 1 {
		t.Fatalf("cards without buttons: %v, want the card's", f.markups)
	}
	if err := scanner.Scan(ctx); err != nil || f.closes != 1 {
		t.Fatalf("second scan: %v, %d closes", err, f.closes)
	}
}

// A group that is not a forum keeps cards and replies: no topic, the card
// says to reply, and getChat is asked once for many messages.
func TestFlatGroupHasNoTopics(t *testing.T) {
	b, f := forumBench(t, false)
	card := escalated(t, b)
	if !strings.Contains(card.text, "(Reply)") || len(f.creates) != 0 {
		t.Fatalf("card %q, creates %q", card.text, f.creates)
	}
	b.handle(b.text(partnerUID, "Уточню"))
	b.handle(b.operatorReply(card.id, "Отвечаю"))
	if got := lastText(t, b, partnerUID); !strings.Contains(got, "Отвечаю") {
		t.Fatalf("partner got %q", got)
	}
	for _, p := range f.posts {
		if p.thread != 0 {
			t.Fatalf("a message in thread %d of a flat group", p.thread)
		}
	}
	if f.getChats != 1 {
		t.Fatalf("getChat asked %d times, want once (cached)", f.getChats)
	}
}

// A failed write of the topic id to the sheet loses nothing: the index has
// the new topic (the sheet's stale id is never used again), and the id is
// written at the next escalation.
func TestTopicSheetWriteFailureKeepsTheIndex(t *testing.T) {
	b, f := forumBench(t, true)
	b.handle(b.text(partnerUID, "Позовите оператора"))
	first := partnerTopic(t, b)
	b.store.SetOperatorsTopicFn = func(int64, int) error { return fmt.Errorf("sheets: quota") }
	f.deleteByHand(first)
	b.handle(b.text(partnerUID, "Вы здесь?"))
	b.handle(b.text(partnerUID, "Ау"))
	if len(f.creates) != 2 || partnerTopic(t, b) != first {
		t.Fatalf("creates %q, sheet %d (want the stale %d)", f.creates, partnerTopic(t, b), first)
	}
	second := 100 + 2
	if got := f.in(second); len(got) != 2 || !strings.Contains(got[1], "Ау") {
		t.Fatalf("in the new topic: %q", got)
	}
	b.store.SetOperatorsTopicFn = nil
	b.handle(b.topicMessage(second, "/resolve"))
	b.handle(b.text(partnerUID, "Позовите оператора снова"))
	if partnerTopic(t, b) != second || len(f.creates) != 2 {
		t.Fatalf("sheet %d, creates %q: want %d written at the escalation", partnerTopic(t, b), f.creates, second)
	}
}

// В работе typed into the sheet by hand is an escalation too: the
// partner's closed topic is reopened for the message and a card, also
// where Telegram lets the bot post into a closed topic.
func TestTopicEscalatedInTheSheetReopensTheTopic(t *testing.T) {
	b, f := forumBench(t, true)
	f.postsInClosed = true
	b.handle(b.text(partnerUID, "Позовите оператора"))
	thread := partnerTopic(t, b)
	b.handle(b.topicMessage(thread, "/resolve"))
	b.existing(partnerUID, domain.AppealStatusEscalated)
	b.handle(b.text(partnerUID, "Есть кто?"))
	got := f.in(thread)
	if f.state(thread).closed || len(f.creates) != 1 || len(got) < 2 ||
		!strings.Contains(got[len(got)-2], "Есть кто?") || !strings.Contains(got[len(got)-1], "Новое обращение") {
		t.Fatalf("topic %+v, creates %q, in the topic %q", f.state(thread), f.creates, got)
	}
}
