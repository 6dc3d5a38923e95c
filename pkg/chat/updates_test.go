package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"marketingbot/pkg/tasks"
)

// Updates as the intake hands them over: the raw Telegram JSON in a
// payload, with the kind the intake saw and the user's previous update.

// msgJSON is a private message from uid with extra fields (text, photo…).
func (b *bench) msgJSON(key string, uid int64, extra string) (json.RawMessage, int) {
	b.mu.Lock()
	b.message++
	mid := b.message
	date := b.now.Unix()
	b.mu.Unlock()
	return json.RawMessage(fmt.Sprintf(`{"update_id":0,"%s":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"Мария","username":"maria"},"chat":{"id":%d,"type":"private"},"date":%d%s}}`,
		key, mid, uid, uid, date, extra)), mid
}

// payload wraps raw as the next update of uid in uid's private chat.
func (b *bench) payload(typ string, uid int64, kind tasks.UpdateKind, raw json.RawMessage) item {
	return b.payloadIn(typ, uid, uid, kind, raw)
}

// payloadIn wraps raw as the next update of uid in chat; as the intake does,
// it is chained to the user's last one when tasks.Chained says so.
func (b *bench) payloadIn(typ string, uid, chat int64, kind tasks.UpdateKind, raw json.RawMessage) item {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.update++
	id := b.update
	raw = json.RawMessage(strings.Replace(string(raw), `"update_id":0`, fmt.Sprintf(`"update_id":%d`, id), 1))
	p := tasks.UpdatePayload{UpdateID: id, Kind: kind, UserID: uid, ChatID: chat, ReceivedAt: b.now, Update: raw}
	if tasks.Chained(typ, p) {
		p.Prev = b.prev[uid]
		b.prev[uid] = id
	}
	return item{Type: typ, Payload: p}
}

// text is a private text; a leading "/" makes it a command, as the intake does.
func (b *bench) text(uid int64, text string) item {
	kind := tasks.KindText
	if strings.HasPrefix(text, "/") {
		kind = tasks.KindCommand
	}
	q, _ := json.Marshal(text)
	raw, _ := b.msgJSON("message", uid, `,"text":`+string(q))
	return b.payload(tasks.TypeChatMessage, uid, kind, raw)
}

// edited is an edit of message mid.
func (b *bench) edited(uid int64, text string) item {
	q, _ := json.Marshal(text)
	raw, _ := b.msgJSON("edited_message", uid, fmt.Sprintf(`,"edit_date":%d,"text":%s`, b.clock().Unix(), q))
	return b.payload(tasks.TypeChatMessage, uid, tasks.KindEdited, raw)
}

// media is a non-text message: kind and the JSON fields that make it.
func (b *bench) media(uid int64, kind tasks.UpdateKind, fields string) item {
	raw, _ := b.msgJSON("message", uid, ","+fields)
	return b.payload(tasks.TypeChatMessage, uid, kind, raw)
}

// contact is a shared contact card of owner (the sender's own when owner == uid).
func (b *bench) contact(uid, owner int64, phone string) item {
	return b.media(uid, tasks.KindContact, fmt.Sprintf(`"contact":{"phone_number":%q,"first_name":"Мария","user_id":%d}`, phone, owner))
}

// callback is a button press by uid under a message in chat.
func (b *bench) callback(uid, chat int64, messageID int, data string) item {
	chatType := "supergroup"
	if chat == uid {
		chatType = "private"
	}
	raw := json.RawMessage(fmt.Sprintf(`{"update_id":0,"callback_query":{"id":"cb%d","from":{"id":%d,"is_bot":false,"first_name":"Ольга","last_name":"Оператор"},"chat_instance":"ci","data":%q,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":%q},"text":"Карточка"}}}`,
		messageID, uid, data, messageID, b.clock().Unix(), chat, chatType))
	return b.payloadIn(tasks.TypeChatCallback, uid, chat, tasks.KindCallback, raw)
}

// member is the user blocking ("kicked") or unblocking ("member") the bot,
// as Telegram reports it in the private chat.
func (b *bench) member(uid int64, status string) item {
	old := map[bool]string{true: "member", false: "kicked"}[status == "kicked"]
	until := map[bool]string{true: `,"until_date":0`}[status == "kicked"]
	raw := json.RawMessage(fmt.Sprintf(`{"update_id":0,"my_chat_member":{"chat":{"id":%d,"type":"private","first_name":"М"},"from":{"id":%d,"is_bot":false,"first_name":"М"},"date":%d,`+
		`"old_chat_member":{"status":%q,"user":{"id":1,"is_bot":true,"first_name":"bot"}},"new_chat_member":{"status":%q,"user":{"id":1,"is_bot":true,"first_name":"bot"}%s}}}`,
		uid, uid, b.clock().Unix(), old, status, until))
	return b.payload(tasks.TypeChatMember, uid, tasks.KindMember, raw)
}

// operatorReply is an operator's message in the group replying to message replyTo.
func (b *bench) operatorReply(replyTo int, text string) item {
	b.mu.Lock()
	b.message++
	mid := b.message
	b.mu.Unlock()
	raw := json.RawMessage(fmt.Sprintf(`{"update_id":0,"message":{"message_id":%d,"from":{"id":77,"is_bot":false,"first_name":"Ольга","last_name":"Оператор"},"chat":{"id":%d,"type":"supergroup"},"date":%d,"text":%q,"reply_to_message":{"message_id":%d,"date":1,"chat":{"id":%d,"type":"supergroup"}}}}`,
		mid, operatorsChat, b.clock().Unix(), text, replyTo, operatorsChat))
	return b.payloadIn(tasks.TypeOperatorMessage, 77, operatorsChat, tasks.KindOperator, raw)
}

// handle runs the task of an update through its handler, as the worker does.
func (b *bench) handle(it item) {
	b.t.Helper()
	if err := b.handleErr(it); err != nil {
		b.t.Fatalf("update %d: %v", it.Payload.UpdateID, err)
	}
}

func (b *bench) handleErr(it item) error {
	t, err := tasks.NewUpdateTask(it.Type, it.Payload, time.Hour)
	if err != nil {
		b.t.Fatal(err)
	}
	ctx := context.Background()
	switch it.Type {
	case tasks.TypeChatCallback:
		return b.s.HandleCallback(ctx, t)
	case tasks.TypeChatMember:
		return b.s.HandleMember(ctx, t)
	case tasks.TypeOperatorMessage:
		return b.s.HandleOperatorMessage(ctx, t)
	default:
		return b.s.HandleMessage(ctx, t)
	}
}

// push puts updates into uid's inbox without draining (as tasks whose
// drains found the lease taken would).
func (b *bench) push(uid int64, items ...item) {
	b.t.Helper()
	for _, it := range items {
		if _, err := b.s.ib.push(context.Background(), uid, it); err != nil {
			b.t.Fatal(err)
		}
	}
}

// drain drains uid's inbox, as a drain task does.
func (b *bench) drain(uid int64) {
	b.t.Helper()
	if err := b.s.drainUser(context.Background(), uid); err != nil {
		b.t.Fatalf("drain %d: %v", uid, err)
	}
}

// inbox lists the update ids left in uid's inbox.
func (b *bench) inbox(uid int64) []int64 {
	b.t.Helper()
	items, err := b.s.ib.pending(context.Background(), uid)
	if err != nil {
		b.t.Fatal(err)
	}
	var out []int64
	for _, it := range items {
		out = append(out, it.Payload.UpdateID)
	}
	return out
}
