package systemtest

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"marketingbot/sim/browser"
)

// TestMiniAppBrowserOrder opens the real Mini App in headless Chromium with launch
// data from the Telegram emulator, orders a report on the «Аналитика 360»
// screen and watches the request reach «Готово» while a worker processes it.
func TestMiniAppBrowserOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-system test")
	}
	t.Parallel() // an own world: nothing shared but the CPU
	s := newMiniappStack(t, miniappStackOptions{backend: true, pollers: 1})
	ctx := browser.New(t)
	browser.FailOnException(ctx, t)
	if err := browser.MobileViewport(ctx); err != nil {
		t.Fatal(err)
	}
	code := miniappCode(1)
	// Telegram opens a Mini App with its launch data in the URL hash.
	page := s.api.URL + "/app/#tgWebAppData=" + url.QueryEscape(s.initData(miniappPartnerID, time.Time{})) + "&tgWebAppVersion=8.0"

	tile := chromedp.CSS(`button.tile[data-go="analytics"]`)
	done := chromedp.CSS(`#req-list li.req[data-status="DONE"]`)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.WaitVisible(tile),
		chromedp.Click(tile),
		chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("code"), strings.ToLower(code)),
		chromedp.WaitEnabled(chromedp.ID("submit")),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.CSS(`section[data-screen="requests"]`)),
		chromedp.WaitVisible(done),
	); err != nil {
		browser.Screenshot(ctx, t, "failed")
		t.Fatalf("ordering in the Mini App: %v", err)
	}
	item, err := chromedp.Run(ctx, chromedp.Text(done))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(item, code) || !strings.Contains(item, "Готово") || !strings.Contains(item, "Скачать PDF") {
		t.Errorf("the finished request shows %q", item)
	}
	browser.Screenshot(ctx, t, "analytics-done")
}
