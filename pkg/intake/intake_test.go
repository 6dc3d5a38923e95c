package intake_test

import (
	"testing"

	"marketingbot/pkg/intake"
	"marketingbot/pkg/tasks"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name, update string
		typ          string
		kind         tasks.UpdateKind
		user         int64
	}{
		{"text", `{"update_id":1,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"привет"}}`, tasks.TypeChatMessage, tasks.KindText, 7},
		{"command", `{"update_id":2,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"/start","entities":[{"type":"bot_command","offset":0,"length":6}]}}`, tasks.TypeChatMessage, tasks.KindCommand, 7},
		{"slash without entity is text", `{"update_id":3,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"/ not a command"}}`, tasks.TypeChatMessage, tasks.KindText, 7},
		{"contact", `{"update_id":4,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"contact":{"phone_number":"79991234567","first_name":"A","user_id":7}}}`, tasks.TypeChatMessage, tasks.KindContact, 7},
		{"photo", `{"update_id":5,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"photo":[{"file_id":"x","file_unique_id":"y","width":1,"height":1}]}}`, tasks.TypeChatMessage, tasks.KindMedia, 7},
		{"sticker", `{"update_id":6,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"sticker":{"file_id":"x"}}}`, tasks.TypeChatMessage, tasks.KindMedia, 7},
		{"location", `{"update_id":7,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"location":{"latitude":55.7,"longitude":37.6}}}`, tasks.TypeChatMessage, tasks.KindLocation, 7},
		{"empty message", `{"update_id":8,"message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"}}}`, tasks.TypeChatMessage, tasks.KindOther, 7},
		{"edited", `{"update_id":9,"edited_message":{"message_id":1,"from":{"id":7},"chat":{"id":7,"type":"private"},"text":"x","edit_date":5}}`, tasks.TypeChatMessage, tasks.KindEdited, 7},
		{"callback", `{"update_id":10,"callback_query":{"id":"q","from":{"id":7},"message":{"message_id":3,"chat":{"id":7,"type":"private"}},"data":"escalate"}}`, tasks.TypeChatCallback, tasks.KindCallback, 7},
		{"blocked", `{"update_id":11,"my_chat_member":{"chat":{"id":7,"type":"private"},"from":{"id":7},"date":1,"old_chat_member":{"status":"member","user":{"id":1}},"new_chat_member":{"status":"kicked","user":{"id":1},"until_date":0}}}`, tasks.TypeChatMember, tasks.KindMember, 7},
		{"operator group", `{"update_id":12,"message":{"message_id":1,"from":{"id":9},"chat":{"id":-100500,"type":"supergroup"},"text":"ответ"}}`, tasks.TypeOperatorMessage, tasks.KindOperator, 9},
		{"other group", `{"update_id":13,"message":{"message_id":1,"from":{"id":9},"chat":{"id":-5,"type":"group"},"text":"hi"}}`, "", tasks.KindText, 9},
		{"channel post", `{"update_id":14,"channel_post":{"message_id":1,"chat":{"id":-7,"type":"channel"},"text":"x"}}`, "", tasks.KindIgnored, 0},
		{"malformed", `{"update_id":"x"}`, "", tasks.KindMalformed, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			typ, p, _ := intake.Classify([]byte(tc.update), operators)
			if typ != tc.typ || p.Kind != tc.kind || p.UserID != tc.user {
				t.Fatalf("got (%q, %q, user %d), want (%q, %q, user %d)", typ, p.Kind, p.UserID, tc.typ, tc.kind, tc.user)
			}
		})
	}
}
