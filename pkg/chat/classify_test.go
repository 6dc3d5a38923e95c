package chat

import (
	"testing"

	"marketingbot/pkg/tasks"
)

func TestClassify(t *testing.T) {
	b := newBench(t, nil)
	const uid = 5001
	photo := `"photo":[{"file_id":"p","file_unique_id":"u","width":1,"height":1}]`
	cases := []struct {
		name       string
		it         item
		authorized bool
		want       unitKind
	}{
		{"text", b.text(uid, "Какая комиссия?"), true, unitText},
		{"text of an unknown user", b.text(uid, "Какая комиссия?"), false, unitText},
		{"edited", b.edited(uid, "Какая комиссия за аренду?"), true, unitEdited},
		{"/start", b.text(uid, "/start"), true, unitCommand},
		{"/help with the bot's name", b.text(uid, "/help@marketing_bot"), true, unitCommand},
		{"/analytics in capitals", b.text(uid, "/ANALYTICS"), true, unitCommand},
		{"unknown command is text", b.text(uid, "/weather"), true, unitText},
		{"/operator", b.text(uid, "/operator"), true, unitEscalate},
		{"/operator of an unknown user", b.text(uid, "/operator"), false, unitEscalate},
		{"keyword", b.text(uid, "позовите оператора"), true, unitEscalate},
		{"keyword in capitals", b.text(uid, "Нужен ЖИВОЙ ЧЕЛОВЕК!"), true, unitEscalate},
		{"keyword of an unknown user", b.text(uid, "оператор"), false, unitText},
		{"contact", b.contact(uid, uid, "+79123456789"), true, unitContact},
		{"contact of an unknown user", b.contact(uid, 1, "+79123456789"), false, unitContact},
		{"photo", b.media(uid, tasks.KindMedia, photo), true, unitMedia},
		{"photo with a keyword in the caption", b.media(uid, tasks.KindMedia, photo+`,"caption":"оператор"`), true, unitMedia},
		{"location", b.media(uid, tasks.KindLocation, `"location":{"latitude":55.7,"longitude":37.6}`), true, unitMedia},
		{"other with a caption", b.media(uid, tasks.KindOther, `"caption":"что-то"`), true, unitMedia},
		{"other without anything", b.media(uid, tasks.KindOther, `"dice":{"emoji":"🎲","value":3}`), true, unitEmpty},
		{"whitespace", b.text(uid, "  \n\t "), true, unitEmpty},
		{"user's button", b.callback(uid, uid, 5, callbackEscalate), true, unitCallback},
		{"unknown button", b.callback(uid, uid, 5, "whatever"), false, unitUnknownButton},
		{"user's button outside the private chat", b.callback(uid, operatorsChat, 5, callbackEscalate), true, unitUnknownButton},
		{"operator's take", b.callback(77, operatorsChat, 9, "op:take:5001"), false, unitOperatorAction},
		{"operator's resolve", b.callback(77, operatorsChat, 9, "op:res:5001"), false, unitOperatorAction},
		{"malformed operator button", b.callback(77, operatorsChat, 9, "op:take:x"), false, unitUnknownButton},
		{"operator's button in a private chat", b.callback(uid, uid, 5, "op:res:5001"), true, unitUnknownButton},
		{"block", b.member(uid, "kicked"), true, unitMember},
		{"unblock of an unknown user", b.member(uid, "member"), false, unitMember},
		{"operator's reply", b.operatorReply(9, "Здравствуйте"), false, unitOperatorReply},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up, err := decode(c.it)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.s.classify(c.it, up, c.authorized); got != c.want {
				t.Fatalf("classify = %v, want %v", got, c.want)
			}
		})
	}
}

func TestEscalationKeywords(t *testing.T) {
	// Options carry " Оператор ", "Живой человек" and a blank: trimmed,
	// lower-cased, the blank dropped (it would match everything).
	b := newBench(t, nil)
	cases := []struct {
		text string
		want bool
	}{
		{"оператор", true},
		{"ОПЕРАТОР, пожалуйста", true},
		{"Дайте оператора", true}, // substring: any form that contains the keyword
		{"нужен живой человек", true},
		{"живой  человек", false}, // two spaces: not the phrase
		{"человек живой", false},
		{"Какая комиссия?", false},
		{"", false},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			if got := b.s.isEscalation(c.text); got != c.want {
				t.Fatalf("isEscalation(%q) = %v, want %v", c.text, got, c.want)
			}
		})
	}
	if got := keywords([]string{" A ", "", "  ", "b"}); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("keywords = %q", got)
	}
}

func TestCommand(t *testing.T) {
	cases := map[string]string{
		"/start":              "start",
		"/Start@bot":          "start",
		"/operator please":    "operator",
		"  /help":             "help",
		"start":               "",
		"":                    "",
		"/analytics@b extra ": "analytics",
	}
	for in, want := range cases {
		if got := command(in); got != want {
			t.Errorf("command(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{"/start": true, "/operator": true, "/weather": false, "hi": false} {
		if got := knownCommand(in); got != want {
			t.Errorf("knownCommand(%q) = %v", in, got)
		}
	}
}

func TestParseOperatorAction(t *testing.T) {
	cases := []struct {
		data   string
		action string
		uid    int64
		ok     bool
	}{
		{"op:take:42", actionTake, 42, true},
		{"op:res:42", actionResolve, 42, true},
		{"op:drop:42", "", 0, false},
		{"op:take:-1", "", 0, false},
		{"op:take:42:x", "", 0, false},
		{"esc", "", 0, false},
	}
	for _, c := range cases {
		a, uid, ok := parseOperatorAction(c.data)
		if a != c.action || uid != c.uid || ok != c.ok {
			t.Errorf("parseOperatorAction(%q) = %q %d %v", c.data, a, uid, ok)
		}
	}
}
