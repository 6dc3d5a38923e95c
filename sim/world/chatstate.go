package world

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"marketingbot/pkg/config"
)

// Helpers of the account-state tests (sim/systemtest/chatstate_*): the
// whole system with its roles at hand, the Mini App asked as the page asks
// it, a person's edit of one cell, a forged button press.

// Chatstate is a world with the roles running in-process.
type Chatstate struct {
	*Env
	Bot, Worker, Poller *Role
}

// NewChatstate starts the world with a worker and a bot; the poller (the
// scans) starts with StartPoller.
func NewChatstate(t testing.TB, o Options) *Chatstate {
	t.Helper()
	e := New(t, o)
	c := &Chatstate{Env: e}
	c.Worker = e.Start(config.RoleWorker)
	c.Bot = e.Start(config.RoleBot)
	return c
}

// StartPoller starts the poller; each scanner runs at once, then every interval.
func (c *Chatstate) StartPoller() {
	c.T.Helper()
	c.Poller = c.Start(config.RolePoller)
}

// MiniAppMe calls GET /api/v1/me on the bot with launch data the Telegram
// emulator signs for uid, as the Mini App page does; it returns the HTTP
// status and the error code of a refusal ("" on success).
func (c *Chatstate) MiniAppMe(uid int64) (status int, code string) {
	c.T.Helper()
	initData, err := c.Telegram.InitData(uid, time.Time{}, "")
	if err != nil {
		c.T.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+c.Bot.Addr()+"/api/v1/me", nil)
	if err != nil {
		c.T.Fatal(err)
	}
	req.Header.Set("Authorization", "tma "+initData)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.T.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return resp.StatusCode, e.Error
}

// SetCell is a person's edit of one cell: in sheet, the row whose column
// keyHeader holds key gets value in column header (columns found by their
// header, wherever they are). It replaces the spreadsheet through the
// emulator's control API, so call it while the system writes nothing.
func (c *Chatstate) SetCell(sheet, keyHeader, key, header, value string) {
	c.T.Helper()
	snap, err := c.Sheets.Snapshot(c.SpreadsheetID)
	if err != nil {
		c.T.Fatal(err)
	}
	for i := range snap.Sheets {
		sh := &snap.Sheets[i]
		if sh.Title != sheet {
			continue
		}
		if len(sh.Rows) == 0 {
			c.T.Fatalf("sheet %q has no header row", sheet)
		}
		kc, vc := headerColumn(sh.Rows[0], keyHeader), headerColumn(sh.Rows[0], header)
		if kc < 0 || vc < 0 {
			c.T.Fatalf("sheet %q: no header %q or %q in %v", sheet, keyHeader, header, sh.Rows[0])
		}
		for r := 1; r < len(sh.Rows); r++ {
			if Cell(sh.Rows, r, kc) != key {
				continue
			}
			for len(sh.Rows[r]) <= vc {
				sh.Rows[r] = append(sh.Rows[r], "")
			}
			sh.Rows[r][vc] = value
			if err := c.Sheets.Load(c.SpreadsheetID, snap); err != nil {
				c.T.Fatal(err)
			}
			return
		}
		c.T.Fatalf("sheet %q: no row with %s = %q", sheet, keyHeader, key)
	}
	c.T.Fatalf("no sheet %q", sheet)
}

// Row returns the row of sheet whose column keyHeader holds key, as header
// → value (nil when there is none).
func (c *Chatstate) Row(sheet, keyHeader, key string) map[string]string {
	c.T.Helper()
	rows := c.Sheet(sheet)
	if len(rows) == 0 {
		return nil
	}
	kc := headerColumn(rows[0], keyHeader)
	for r := 1; r < len(rows); r++ {
		if kc >= 0 && Cell(rows, r, kc) == key {
			out := map[string]string{}
			for i, h := range rows[0] {
				out[fmt.Sprint(h)] = Cell(rows, r, i)
			}
			return out
		}
	}
	return nil
}

func headerColumn(header []any, name string) int {
	for i, h := range header {
		if strings.TrimSpace(fmt.Sprint(h)) == name {
			return i
		}
	}
	return -1
}

// PressForged makes uid press a button with data no message of the bot
// carries (a modified client, a stale keyboard), under an earlier message
// of the private chat; id names the callback query, to read the bot's
// answer with Telegram.Callback.
func (c *Chatstate) PressForged(uid int64, id, data string) {
	c.T.Helper()
	q := map[string]any{"callback_query": map[string]any{
		"id":   id,
		"from": map[string]any{"id": uid, "is_bot": false, "first_name": "П"},
		"data": data,
		"message": map[string]any{"message_id": 1, "date": time.Now().Unix(), "text": "Меню",
			"chat": map[string]any{"id": uid, "type": "private", "first_name": "П"}},
	}}
	raw, err := json.Marshal(q)
	if err != nil {
		c.T.Fatal(err)
	}
	if _, err := c.Telegram.InjectUpdate(raw); err != nil {
		c.T.Fatal(err)
	}
}

// Metric reads a counter or gauge without labels from a role's /metrics
// (0 when the series is not there).
func (c *Chatstate) Metric(r *Role, name string) float64 {
	c.T.Helper()
	resp, err := http.Get("http://" + r.Addr() + "/metrics")
	if err != nil {
		c.T.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	return 0
}
