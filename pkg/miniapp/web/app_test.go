package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"marketingbot/pkg/domain"
	"marketingbot/pkg/telegram/webapp"
	"marketingbot/sim/browser"
)

var (
	anna  = webapp.User{ID: userAnna, FirstName: "Анна", Username: "anna"}
	boris = webapp.User{ID: userBoris, FirstName: "Борис"}
	vera  = webapp.User{ID: userVera, FirstName: "Вера", Username: "vera"}

	darkTheme = map[string]string{
		"bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#708499", "link_color": "#6ab3f3",
		"button_color": "#5288c1", "button_text_color": "#ffffff", "secondary_bg_color": "#232e3c",
	}
)

func TestMiniApp(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	api := newAPIDouble()
	srv := api.server(t)
	f := &appFixture{api: api, srv: srv, ctx: browser.New(t), appURL: srv.URL + "/app/"}

	// Anna's history: one finished report and one failure, both from 2024,
	// so the dates render with a year.
	api.addRequest(apiRequest{ID: "old-done", ObjectCode: "SPB-2001", Status: domain.RequestStatusDone,
		CreatedAt: time.Date(2024, 3, 5, 11, 30, 0, 0, time.UTC), UpdatedAt: time.Date(2024, 3, 5, 11, 35, 0, 0, time.UTC),
		ResultText: "Старый отчёт", ReportURL: "/api/v1/reports/old-done.pdf?t=tok-old-done", Delivered: true}, userAnna)
	api.addRequest(apiRequest{ID: "old-error", ObjectCode: "MSK-999", Status: domain.RequestStatusError,
		CreatedAt: time.Date(2024, 3, 4, 9, 5, 0, 0, time.UTC), UpdatedAt: time.Date(2024, 3, 4, 9, 6, 0, 0, time.UTC),
		Error: "Объект MSK-999 не найден в листе объявлений"}, userAnna)
	api.promotions = []apiPromotion{
		{ID: "p1", Title: "Скидка на отчёты", StartsAt: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Text: promoHTML},
		{ID: "p2", Title: "<Весна> & скидки", ImageURL: srv.URL + "/img/promo.svg",
			StartsAt: time.Date(2099, 5, 1, 12, 0, 0, 0, time.UTC), Text: "Просто текст\nв две строки"},
	}

	t.Run("order a report", func(t *testing.T) { testOrder(t, f) })
	t.Run("access denied", func(t *testing.T) { testAccessDenied(t, f) })
	t.Run("promotions are sanitized", func(t *testing.T) { testPromotions(t, f) })
	t.Run("dark theme", func(t *testing.T) { testDarkTheme(t, f) })
	t.Run("320 px wide", func(t *testing.T) { testNarrow(t, f) })
	t.Run("Telegram's script arrives after the app", func(t *testing.T) { testLateScript(t, f) })
	t.Run("inside Telegram", func(t *testing.T) { testInsideTelegram(t, f) })
}

// appFixture is what every subtest of TestMiniApp shares: the API double,
// its server, the browser and the app's address.
type appFixture struct {
	api    *apiDouble
	srv    *httptest.Server
	ctx    context.Context
	appURL string
}

// testOrder orders a report the way a partner does: home, the form and
// its validation, refusals, the new request's live status, history.
func testOrder(t *testing.T, f *appFixture) {
	tab := newTab(t, f.ctx)
	orderForm(t, f, tab)
	orderSubmit(t, f, tab)
	orderAfter(t, f, tab)
}

// orderForm: the home screen loads without moving, and the code field
// validates as the partner types.
func orderForm(t *testing.T, f *appFixture, tab context.Context) {
	api, appURL := f.api, f.appURL
	api.slowMe(300 * time.Millisecond)
	do(t, tab, chromedp.Navigate(appURL+launchFragment(initData(t, anna, time.Now(), botToken), nil)))
	waitFor(t, tab, "greeting with the first name", `text('#greet') === 'Здравствуйте, Анна!'`)
	api.slowMe(0)
	if got := evalString(t, tab, `text('#partner')`); got != "Код партнёра: P-0001" {
		t.Errorf("partner line = %q", got)
	}
	// Skeletons reserve the space the data fills: loading must not move
	// the layout (Google's "good" cumulative layout shift is below 0.1).
	if cls := evalFloat(t, tab, layoutShift); cls > 0.01 {
		t.Errorf("cumulative layout shift while loading the home screen = %.3f", cls)
	}
	browser.Screenshot(tab, t, "home-light")

	do(t, tab, chromedp.Click(chromedp.CSS(`.tile[data-go=analytics]`)))
	waitFor(t, tab, "analytics screen", `visible('analytics') && location.search === '?screen=analytics'`)
	inputs := []struct {
		typed, value string
		valid        bool
		hint         string
	}{
		{"msk-12", "MSK-12", false, "Формат: 2–4 латинские буквы"},
		{"мск-100001", "МСК-100001", false, "латинские буквы"},
		{"m sk-1000 01", "MSK-100001", true, "Например, MSK-100001"},
		{"msk-100001", "MSK-100001", true, "Например, MSK-100001"},
	}
	for _, in := range inputs {
		typeCode(t, tab, in.typed)
		got := evalString(t, tab, `[val('#code'), $('#submit').disabled, text('#code-hint'), $('#code-hint').classList.contains('bad')].join('|')`)
		want := fmt.Sprintf("%s|%v|", in.value, !in.valid)
		if !strings.HasPrefix(got, want) || !strings.Contains(got, in.hint) || strings.HasSuffix(got, "|true") == in.valid {
			t.Errorf("typed %q: value|disabled|hint|bad = %q, want %q…%q (bad=%v)", in.typed, got, want, in.hint, !in.valid)
		}
	}
	browser.Screenshot(tab, t, "analytics-light")
}

// orderSubmit: refusals keep the form; an accepted order shows up queued
// and follows the API's status to DONE with its PDF link.
func orderSubmit(t *testing.T, f *appFixture, tab context.Context) {
	api, srv := f.api, f.srv

	// Server-side refusals keep the user on the form with the API's words.
	typeCode(t, tab, "lim-429")
	do(t, tab, chromedp.Click(chromedp.CSS(`#submit`)))
	waitFor(t, tab, "rate-limit message", `!$('#toast').hidden && text('#toast') === 'Слишком много запросов подряд. Повторите через 7 с.'`)
	typeCode(t, tab, "zz-000")
	do(t, tab, chromedp.Click(chromedp.CSS(`#submit`)))
	waitFor(t, tab, "400 message under the field", `text('#code-hint') === 'Объект ZZ-000 не найден в базе.' && visible('analytics')`)

	typeCode(t, tab, "msk-100001")
	do(t, tab, chromedp.Click(chromedp.CSS(`#submit`)))
	waitFor(t, tab, "the new request, queued and highlighted", `visible('requests') && $('#req-list li.new[data-status=NEW] .badge')?.textContent === 'В очереди' && document.querySelectorAll('#req-list li[data-id]').length === 3`)
	req, ok := api.latest(userAnna)
	if !ok || req.ObjectCode != "MSK-100001" || req.Status != domain.RequestStatusNew {
		t.Fatalf("API holds %+v, want a NEW request for MSK-100001", req)
	}
	if got := evalString(t, tab, `[...document.querySelectorAll('#req-list li')].map(li => li.dataset.id).join(',')`); got != req.ID+",old-done,old-error" {
		t.Errorf("list order = %s, want newest first", got)
	}
	if got := evalString(t, tab, `text('#req-list li[data-id=old-error] time') + ' / ' + text('#req-list li[data-id=old-error] .err') + ' / ' + text('#req-list li[data-id=old-error] .badge')`); got != "4 марта 2024, 12:05 / Объект MSK-999 не найден в листе объявлений / Ошибка" {
		t.Errorf("error request renders as %q", got)
	}

	api.setStatus(req.ID, domain.RequestStatusProcessing, "")
	waitFor(t, tab, "live status PROCESSING", `$('#req-list li.new .badge')?.textContent === 'Считаем…'`)
	result := "Медиана цены: 250 000 ₽/м²\nРанг: 3 из 12 <b>не тег</b> & всё"
	reportURL := api.setStatus(req.ID, domain.RequestStatusDone, result)
	waitFor(t, tab, "live status DONE", `$('#req-list li.new[data-status=DONE] .badge')?.textContent === 'Готово'`)
	item := `$('#req-list li.new')`
	if got := evalString(t, tab, item+`.querySelector('.result').textContent`); got != result {
		t.Errorf("result text = %q, want %q verbatim", got, result)
	}
	if n := evalInt(t, tab, item+`.querySelector('.result').childElementCount`); n != 0 {
		t.Errorf("result text produced %d elements; API text must never become markup", n)
	}
	if got := evalString(t, tab, `getComputedStyle(`+item+`.querySelector('.result')).whiteSpace`); got != "pre-wrap" {
		t.Errorf("result white-space = %q, line breaks would be lost", got)
	}
	link := evalString(t, tab, item+`.querySelector('a.pdf').href + '|' + `+item+`.querySelector('a.pdf').textContent`)
	if want := srv.URL + reportURL + "|Скачать PDF"; link != want {
		t.Errorf("download link = %q, want %q", link, want)
	}
	href, _, _ := strings.Cut(link, "|")
	checkPDF(t, href)
	browser.Screenshot(tab, t, "requests-light")
}

// orderAfter: polling stops once every request is final, back leads
// home, and the code just ordered is offered again.
func orderAfter(t *testing.T, f *appFixture, tab context.Context) {
	api := f.api

	// Every request is final now, so polling must stop.
	polls := api.callCount("GET /api/v1/analytics")
	time.Sleep(time.Second) // five poll intervals
	if extra := api.callCount("GET /api/v1/analytics") - polls; extra != 0 {
		t.Errorf("%d list calls after every request was final; polling should have stopped", extra)
	}

	// The order replaced the form in history: back leads home.
	do(t, tab, chromedp.Click(chromedp.CSS(`#back`)))
	waitFor(t, tab, "home after back", `visible('home') && location.search === ''`)
	do(t, tab, chromedp.Click(chromedp.CSS(`.tile[data-go=analytics]`)))
	waitFor(t, tab, "recent code chip", `[...document.querySelectorAll('#recent .chip')].map(c => c.textContent).join() === 'MSK-100001'`)
	do(t, tab, chromedp.Click(chromedp.CSS(`#recent .chip`)))
	if got := evalString(t, tab, `val('#code') + '|' + $('#submit').disabled`); got != "MSK-100001|false" {
		t.Errorf("after tapping the chip: value|disabled = %q", got)
	}
	if n := api.rejectedCount(); n != 0 {
		t.Errorf("the API rejected %d calls of a correctly launched app", n)
	}
}

// testAccessDenied: without valid launch data, or for a non-partner, only
// the access screen shows.
func testAccessDenied(t *testing.T, f *appFixture) {
	ctx, appURL := f.ctx, f.appURL
	tests := []struct {
		name, fragment, title, message string
	}{
		{"no launch data", "", "Откройте приложение из бота", "Приложение работает только внутри Telegram."},
		{"forged signature", launchFragment(initData(t, anna, time.Now(), "999:other-bot"), nil),
			"Откройте приложение из бота", "Не удалось подтвердить вход через Telegram. Откройте приложение из бота."},
		{"expired", launchFragment(initData(t, anna, time.Now().Add(-48*time.Hour), botToken), nil),
			"Откройте приложение из бота", "Сессия устарела. Закройте приложение и откройте его из бота заново."},
		{"not a partner", launchFragment(initData(t, boris, time.Now(), botToken), nil),
			"Доступ только для партнёров", "Аналитика доступна только авторизованным партнёрам."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := newTab(t, ctx)
			do(t, tab, chromedp.Navigate(appURL+"?screen=requests"+tt.fragment))
			waitFor(t, tab, "the access screen", `visible('auth') && $('#auth-bot').href === 'https://t.me/marketing_test_bot'`)
			got := evalString(t, tab, `text('#auth-title') + '|' + text('#auth-msg') + '|' + document.querySelectorAll('[data-screen]:not([hidden])').length`)
			if want := tt.title + "|" + tt.message + "|1"; got != want {
				t.Errorf("title|message|visible screens = %q, want %q", got, want)
			}
			browser.Screenshot(tab, t, "auth")
		})
	}
}

// testPromotions: promotion texts are sanitized; nothing in them runs or
// loads.
func testPromotions(t *testing.T, f *appFixture) {
	api, ctx, appURL := f.api, f.ctx, f.appURL
	tab := newTab(t, ctx)
	api.failPromotions(1)
	do(t, tab, chromedp.Navigate(appURL+"?screen=promotions"+launchFragment(initData(t, anna, time.Now(), botToken), nil)))
	waitFor(t, tab, "the outage explained", `text('#promo-err p') === 'Таблица акций недоступна, попробуйте через минуту.'`)
	do(t, tab, chromedp.Click(chromedp.CSS(`#promo-err .btn`)))
	waitFor(t, tab, "two promotion cards, image loaded", `document.querySelectorAll('#promo-list .card').length === 2 && $('#promo-list img')?.complete && $('#promo-err').hidden`)
	if got := evalString(t, tab, `$('#promo-list .card .rich').innerHTML`); got != promoSanitized {
		t.Errorf("sanitized promotion:\n got %s\nwant %s", got, promoSanitized)
	}
	if got := evalString(t, tab, `[...document.querySelectorAll('#promo-list .card')].map(c => text(c.querySelector('h2')) + ' / ' + text(c.querySelector('p.hint'))).join(' | ')`); got != "Скидка на отчёты / С 1 марта 2024 | <Весна> & скидки / Стартует 1 мая 2099" {
		t.Errorf("titles and dates = %q", got)
	}
	// Give anything the page might have let through a chance to run.
	do(t, tab, chromedp.Evaluate[chromedp.Void](`new Promise(r => setTimeout(r, 300))`, chromedp.EvalAwaitPromise))
	if got := evalString(t, tab, `typeof window.__xss`); got != "undefined" {
		t.Errorf("window.__xss is %s: markup from the promotion text executed", got)
	}
	if strays := api.strayRequests(); len(strays) != 0 {
		t.Errorf("the page requested %v; the promotion's markup must never load resources", strays)
	}
	browser.Screenshot(tab, t, "promotions-light")
}

// testDarkTheme: Telegram's theme parameters and the system preference
// both give the dark palette.
func testDarkTheme(t *testing.T, f *appFixture) {
	ctx, appURL := f.ctx, f.appURL
	tests := []struct {
		name, prefers string
		theme         map[string]string
	}{
		{"telegram theme params", "light", darkTheme},
		{"prefers-color-scheme", "dark", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := newTab(t, ctx)
			if err := browser.PreferColorScheme(tab, tt.prefers); err != nil {
				t.Fatal(err)
			}
			do(t, tab, chromedp.Navigate(appURL+launchFragment(initData(t, anna, time.Now(), botToken), tt.theme)))
			waitFor(t, tab, "greeting", `text('#greet') === 'Здравствуйте, Анна!'`)
			if got := evalString(t, tab, `getComputedStyle(document.body).backgroundColor + ' ' + getComputedStyle(document.body).color`); got != "rgb(23, 33, 43) rgb(245, 245, 245)" {
				t.Errorf("body colors = %q, want the dark palette", got)
			}
			browser.Screenshot(tab, t, "home-dark")
			do(t, tab, chromedp.Click(chromedp.CSS(`.tile[data-go=requests]`)))
			waitFor(t, tab, "requests", `$('#req-list li[data-status=DONE] .badge')?.textContent === 'Готово'`)
			browser.Screenshot(tab, t, "requests-dark")
		})
	}
}

// testNarrow: no screen scrolls sideways at 320 px.
func testNarrow(t *testing.T, f *appFixture) {
	ctx, appURL := f.ctx, f.appURL
	tab := newTab(t, ctx)
	do(t, tab, chromedp.EmulateViewport(320, 568, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	fragment := launchFragment(initData(t, anna, time.Now(), botToken), nil)
	screens := []struct{ query, ready string }{
		{"", `text('#greet') === 'Здравствуйте, Анна!'`},
		{"?screen=analytics", `visible('analytics')`},
		{"?screen=requests", `$('#req-list li[data-status=DONE]')`},
		{"?screen=promotions", `$('#promo-list .card')`},
	}
	for _, s := range screens {
		do(t, tab, chromedp.Navigate(appURL+s.query+fragment))
		waitFor(t, tab, "screen "+s.query, s.ready)
		if w := evalInt(t, tab, `document.documentElement.scrollWidth`); w > 320 {
			t.Errorf("screen %q is %d px wide at a 320 px viewport: it scrolls sideways", s.query, w)
		}
	}
	browser.Screenshot(tab, t, "promotions-320")
}

// testLateScript: the app runs before Telegram's script arrives, then
// adopts it.
func testLateScript(t *testing.T, f *appFixture) {
	ctx, appURL := f.ctx, f.appURL
	tab := newTab(t, ctx)
	initData := initData(t, vera, time.Now(), botToken)
	// Serve the stand-in for telegram-web-app.js a second late, as a slow
	// telegram.org would: the app must run without it, then adopt it.
	paused := chromedp.Events(tab, fetch.RequestPaused)
	if _, err := chromedp.Call(tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "https://telegram.org/*"}}}); err != nil {
		t.Fatal(err)
	}
	sdk := []byte(strings.Replace(fakeTelegram, "INIT_DATA", strconv.Quote(initData), 1))
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			time.Sleep(time.Second)
			_, _ = chromedp.Call(tab, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: http.StatusOK,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/javascript"}}, Body: sdk})
		}
	}()
	// Not chromedp.Navigate: it waits for the load event, which an async
	// script holds back, and the point is what happens before that.
	if _, err := chromedp.Call(tab, page.Navigate, page.NavigateParams{URL: appURL + launchFragment(initData, nil)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tab, "greeting", `text('#greet') === 'Здравствуйте, Вера!'`)
	if evalBool(t, tab, `window.Telegram`) {
		t.Fatal("Telegram's script was there before the greeting; this subtest needs it late")
	}
	waitFor(t, tab, "the late script adopted", `__tg.calls.join() === 'ready,expand' && document.documentElement.classList.contains('tg-main') && document.documentElement.dataset.scheme === 'dark'`)
	do(t, tab, chromedp.Click(chromedp.CSS(`.tile[data-go=analytics]`)))
	waitFor(t, tab, "native buttons", `Telegram.WebApp.MainButton.isVisible && Telegram.WebApp.BackButton.isVisible && $('#back').hidden`)
}

// testInsideTelegram: inside a Telegram client the app uses initData from
// Telegram.WebApp, the native buttons, haptics, downloads and alerts.
func testInsideTelegram(t *testing.T, f *appFixture) {
	api, srv, ctx, appURL := f.api, f.srv, f.ctx, f.appURL
	tab := newTab(t, ctx)
	_, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: strings.Replace(fakeTelegram, "INIT_DATA", strconv.Quote(initData(t, vera, time.Now(), botToken)), 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	do(t, tab, chromedp.Navigate(appURL)) // no hash: initData comes from Telegram.WebApp
	waitFor(t, tab, "greeting from Telegram's initData", `text('#greet') === 'Здравствуйте, Вера!'`)
	if got := evalString(t, tab, `__tg.calls.slice(0, 2).join() + '|' + document.documentElement.dataset.scheme + '|' + $('#back').hidden`); got != "ready,expand|dark|true" {
		t.Errorf("calls|scheme|in-page back hidden = %q", got)
	}

	do(t, tab, chromedp.Click(chromedp.CSS(`.tile[data-go=requests]`)))
	waitFor(t, tab, "empty state", `!$('#req-empty').hidden && Telegram.WebApp.BackButton.isVisible`)
	do(t, tab, chromedp.Click(chromedp.CSS(`#req-empty .btn`)))
	waitFor(t, tab, "analytics with the main button", `visible('analytics') && Telegram.WebApp.MainButton.isVisible`)
	if got := evalString(t, tab, `[Telegram.WebApp.MainButton.text, Telegram.WebApp.MainButton.isActive, getComputedStyle($('#submit')).display].join('|')`); got != "Заказать отчёт|false|none" {
		t.Errorf("main button text|active, inline submit display = %q", got)
	}
	typeCode(t, tab, "spb-2024")
	if !evalBool(t, tab, `Telegram.WebApp.MainButton.isActive`) {
		t.Fatal("main button stays inactive for a valid code")
	}
	do(t, tab, chromedp.Evaluate[chromedp.Void](`Telegram.WebApp.MainButton.click()`))
	waitFor(t, tab, "requests after the main button", `$('#req-list li.new[data-status=NEW]') && !Telegram.WebApp.MainButton.isVisible`)
	req, _ := api.latest(userVera)
	if req.ObjectCode != "SPB-2024" {
		t.Fatalf("API holds %+v, want SPB-2024", req)
	}
	reportURL := api.setStatus(req.ID, domain.RequestStatusDone, "Готово для Веры")
	waitFor(t, tab, "DONE", `$('#req-list li.new[data-status=DONE] a.pdf')`)
	do(t, tab, chromedp.Click(chromedp.CSS(`#req-list li.new a.pdf`)))
	if got := evalString(t, tab, `__tg.calls.filter(c => /^(haptic|download)/.test(c)).join()`); got != "haptic:success,haptic:success,download:"+srv.URL+reportURL {
		t.Errorf("Telegram calls = %q", got)
	}
	if got := evalString(t, tab, `location.pathname`); got != "/app/" {
		t.Errorf("the PDF link navigated the Mini App to %s instead of asking Telegram to download", got)
	}

	do(t, tab, chromedp.Evaluate[chromedp.Void](`Telegram.WebApp.BackButton.click()`))
	waitFor(t, tab, "home after Telegram's back button", `visible('home') && !Telegram.WebApp.BackButton.isVisible`)

	do(t, tab, chromedp.Evaluate[chromedp.Void](`Object.assign(Telegram.WebApp, {colorScheme: 'light', themeParams: {bg_color: '#ffffff', text_color: '#222222'}}); __tg.fire('themeChanged')`))
	if got := evalString(t, tab, `document.documentElement.dataset.scheme + ' ' + getComputedStyle(document.body).backgroundColor`); got != "light rgb(255, 255, 255)" {
		t.Errorf("after themeChanged: %q", got)
	}

	// A rate limit inside Telegram is a native alert, not a toast.
	do(t, tab, chromedp.Click(chromedp.CSS(`.tile[data-go=analytics]`)))
	typeCode(t, tab, "lim-429")
	do(t, tab, chromedp.Evaluate[chromedp.Void](`Telegram.WebApp.MainButton.click()`))
	waitFor(t, tab, "native alert", `__tg.calls.includes('alert:Слишком много запросов подряд. Повторите через 7 с.') && $('#toast').hidden`)
}

// promoHTML is a promotion text from "our own sheet" as an attacker who got
// write access would fill it in.
const promoHTML = `<b>Скидка 50%</b> на <i>отчёты</i> и <strong>PDF</strong>
<a href="https://example.com/promo?a=1&amp;b=2" onclick="window.__xss=1">Подробнее</a> <a href="javascript:window.__xss=2">ссылка</a>` +
	`<script>window.__xss=3</script><img src="x" onerror="window.__xss=4"><svg onload="window.__xss=5"><text>svg</text></svg>` +
	`<iframe src="javascript:parent.__xss=6"></iframe><u style="color:red">u</u> <s>s</s> <code>MSK-1</code><pre>блок</pre>` +
	`<span class="tg-spoiler">спойлер</span> <tg-spoiler>ещё</tg-spoiler> &lt;не тег&gt;<br><a>без ссылки</a>`

// promoSanitized is promoHTML as the page must render it.
const promoSanitized = `<b>Скидка 50%</b> на <i>отчёты</i> и <b>PDF</b>
<a href="https://example.com/promo?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">Подробнее</a> ссылка` +
	`<u>u</u> <s>s</s> <code>MSK-1</code><pre>блок</pre>спойлер ещё &lt;не тег&gt;<br>без ссылки`

// fakeTelegram stands in for telegram-web-app.js inside a Telegram client:
// it records what the app asks of Telegram and lets the test press the
// native buttons and fire events.
const fakeTelegram = `(() => {
  const calls = [], handlers = {};
  const button = (name) => ({
    text: '', isVisible: false, isActive: true, isProgressVisible: false, color: '', handler: null,
    setText(t) { this.text = t; return this; },
    onClick(f) { this.handler = f; return this; },
    offClick() { this.handler = null; return this; },
    show() { this.isVisible = true; return this; },
    hide() { this.isVisible = false; return this; },
    enable() { this.isActive = true; return this; },
    disable() { this.isActive = false; return this; },
    showProgress() { this.isProgressVisible = true; return this; },
    hideProgress() { this.isProgressVisible = false; return this; },
    setParams(p) { Object.assign(this, p); return this; },
    click() { if (this.isVisible && this.isActive && this.handler) this.handler(); },
  });
  window.Telegram = { WebApp: {
    initData: INIT_DATA, platform: 'android', version: '8.0', colorScheme: 'dark',
    themeParams: {bg_color: '#17212b', text_color: '#f5f5f5', hint_color: '#708499', button_color: '#5288c1', button_text_color: '#ffffff', secondary_bg_color: '#232e3c'},
    isVersionAtLeast(v) { return parseFloat(v) <= 8; },
    ready() { calls.push('ready'); },
    expand() { calls.push('expand'); },
    onEvent(name, f) { handlers[name] = f; },
    MainButton: button('MainButton'),
    BackButton: button('BackButton'),
    HapticFeedback: { notificationOccurred(kind) { calls.push('haptic:' + kind); } },
    showAlert(message) { calls.push('alert:' + message); },
    openLink(url) { calls.push('openLink:' + url); },
    downloadFile(p) { calls.push('download:' + p.url); },
  }};
  window.__tg = { calls, fire(name) { handlers[name].call(window.Telegram.WebApp); } };
})();`

// helpers are defined in every page the tests open; they only read the DOM.
const helpers = `window.$ = (s) => document.querySelector(s);
window.text = (s) => { const n = typeof s === 'string' ? $(s) : s; return n ? n.textContent : null; };
window.val = (s) => $(s).value;
window.visible = (name) => { const s = $('[data-screen=' + name + ']'); return !!s && !s.hidden; };`

// newTab opens a tab for one subtest: phone viewport, Moscow time, test
// helpers, and a failure for any uncaught exception.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab := browser.NewTab(ctx, t)
	browser.FailOnException(tab, t)
	if err := browser.MobileViewport(tab); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/Moscow"}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: helpers}); err != nil {
		t.Fatal(err)
	}
	return tab
}

func do(t *testing.T, tab context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, actions...); err != nil {
		browser.Screenshot(tab, t, "failure")
		t.Fatal(err)
	}
}

// typeCode replaces the object code field's content by typing, so the
// page sees real key and input events.
func typeCode(t *testing.T, tab context.Context, s string) {
	t.Helper()
	do(t, tab, chromedp.Evaluate[chromedp.Void](`$('#code').select()`), chromedp.SendKeys(chromedp.CSS(`#code`), s))
}

// waitFor polls a JS condition from Go. chromedp.Poll would compile the
// condition with new Function, which the app's CSP forbids, and the test
// keeps that CSP on.
func waitFor(t *testing.T, tab context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			browser.Screenshot(tab, t, "failure")
			t.Fatalf("timed out waiting for %s (%s): last error %v", what, cond, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func evalString(t *testing.T, tab context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Evaluate[string](`(async () => String(await (`+expr+`)))()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return s
}

func evalInt(t *testing.T, tab context.Context, expr string) int {
	t.Helper()
	n, err := chromedp.Run(tab, chromedp.Evaluate[int](expr))
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return n
}

func evalFloat(t *testing.T, tab context.Context, expr string) float64 {
	t.Helper()
	f, err := chromedp.Run(tab, chromedp.Evaluate[float64](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return f
}

// layoutShift sums the page's layout-shift entries so far: the CLS metric
// without session windows, so never less than CLS. Unlike CLS it keeps
// shifts flagged hadRecentInput: DevTools' viewport emulation sets that flag,
// and the test sends no input before measuring.
const layoutShift = `new Promise((resolve) => {
	let sum = 0;
	new PerformanceObserver((list) => { for (const e of list.getEntries()) sum += e.value; })
		.observe({ type: 'layout-shift', buffered: true });
	setTimeout(() => resolve(sum), 100);
})`

func evalBool(t *testing.T, tab context.Context, expr string) bool {
	t.Helper()
	b, err := chromedp.Run(tab, chromedp.Evaluate[bool](`!!(`+expr+`)`))
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return b
}

// checkPDF fetches a report link the way a browser download would: with no
// Authorization header.
func checkPDF(t *testing.T, href string) {
	t.Helper()
	resp, err := http.Get(href)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "%PDF-") {
		t.Errorf("GET %s = %d %q, want a PDF", href, resp.StatusCode, body)
	}
}
