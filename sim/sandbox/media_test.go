package sandbox_test

import (
	"strings"
	"testing"

	"marketingbot/sim/sandbox"
	"marketingbot/sim/sandbox/ui"
)

// TestSandboxFlatGroupAndDemoMedia runs the sandbox with --flat-group: the
// operators' group is a plain group (the page is told so), escalation posts
// a card there and an operator's Reply to it reaches the partner. On the
// way, the page's demo photo and document (sent as the page sends them,
// through the control API's send_media) get answers about what the sandbox
// registered as their content with the Gemini emulator.
func TestSandboxFlatGroupAndDemoMedia(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel()
	sb, _ := startSandbox(t, sandbox.Options{DataDir: t.TempDir(), Addr: "127.0.0.1:0", Listings: testListings, FlatGroup: true})
	c := control{t: t, ep: sb.Endpoints}
	var ep ui.Endpoints
	c.get(sb.Endpoints.UI+ui.EndpointsPath, &ep)
	var groups []struct {
		ID      int64 `json:"id"`
		IsForum bool  `json:"is_forum"`
	}
	c.get(sb.Endpoints.TelegramControl+"/groups", &groups)
	if ep.OperatorsForum || len(groups) != 1 || groups[0].ID != sandbox.OperatorsChatID || groups[0].IsForum {
		t.Fatalf("--flat-group: endpoints operators_forum %v, groups %+v; want a plain operators' group", ep.OperatorsForum, groups)
	}

	c.authorizeRestartPartner()

	for _, tc := range []struct{ testid, want string }{
		{"attach-photo", "Зафиксируйте клиента"}, // the photo's partner asks how to register a client
		{"attach-document", "Партнёр получает долю от комиссии"},
	} {
		id := sendDemoMedia(t, c, tc.testid)
		if m := c.waitReply(restartUID, id, "the answer to "+tc.testid); !strings.Contains(m.Text, tc.want) {
			t.Errorf("the answer to the demo %s is not about its content (%q): %q", tc.testid, tc.want, m.Text)
		}
	}

	asked := c.send(restartUID, "позовите оператора")
	c.waitBot(restartUID, asked, "the handoff notice", "Передаю ваш вопрос оператору")
	card := c.waitMessage(sandbox.OperatorsChatID, "the card", func(m tmsg) bool {
		return m.FromBot && strings.Contains(m.Text, "Новое обращение") && strings.Contains(m.Text, restartPartner)
	})
	if card.Thread != 0 || !strings.Contains(card.Text, "Ответьте на это сообщение (Reply)") {
		t.Errorf("the card in a plain group: thread %d, text %q", card.Thread, card.Text)
	}
	const reply = "Добрый день! Это Ольга, отвечаю в обычной группе."
	c.post(sb.Endpoints.TelegramControl+"/group_send", map[string]any{"chat_id": sandbox.OperatorsChatID,
		"user_id": sandbox.Operator.ID, "text": reply, "reply_to_message_id": card.MessageID}, nil)
	c.waitBot(restartUID, asked, "the operator's reply", reply)
}

// sendDemoMedia sends the page's demo file testid as the partner and
// returns the message id.
func sendDemoMedia(t *testing.T, c control, testid string) int {
	t.Helper()
	for _, f := range ui.DemoMedia {
		if f.TestID != testid {
			continue
		}
		b, err := ui.DemoFileBytes(f)
		if err != nil {
			t.Fatal(err)
		}
		var sent struct {
			MessageID int `json:"message_id"`
		}
		c.post(c.ep.TelegramControl+"/send_media", map[string]any{"user_id": restartUID, "kind": f.Kind, "data": b,
			"file_name": f.FileName, "mime_type": f.MimeType, "duration": f.Duration, "caption": f.Caption}, &sent)
		return sent.MessageID
	}
	t.Fatalf("no demo file %s in ui.DemoMedia", testid)
	return 0
}
