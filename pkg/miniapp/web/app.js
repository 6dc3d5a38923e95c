// MarketingBot Mini App. Plain DOM, no HTML strings: API text always becomes
// text nodes; promotion HTML is rebuilt by sanitize() from an allowlist.
(() => {
'use strict';

const PATTERN = '^[A-Z]{2,4}-\\d{3,8}$';
const TITLES = { home: 'Партнёрский кабинет', analytics: 'Аналитика 360', requests: 'Мои запросы', promotions: 'Акции', auth: 'Нет доступа' };
const STATUS = { NEW: 'В очереди', PROCESSING: 'Считаем…', DONE: 'Готово', ERROR: 'Ошибка' };
const PENDING = ['NEW', 'PROCESSING'];
const MONTHS = 'января февраля марта апреля мая июня июля августа сентября октября ноября декабря'.split(' ');
const RECENT = 'marketingbot.recentCodes';
const $ = (id) => document.getElementById(id);
const root = document.documentElement;
// The API sits beside the app's folder: /app/app.js -> /api/v1/.
const api = new URL('../api/v1/', document.currentScript ? document.currentScript.src : location.href);
const launch = new URLSearchParams(location.hash.slice(1)); // Telegram's launch parameters

let tg = null;
let initData = launch.get('tgWebAppData') || new URLSearchParams(location.search).get('initData') || '';
let config = { object_code_pattern: PATTERN, poll_interval_ms: 3000, bot_username: '' };
let codeRe = new RegExp(PATTERN);
const S = { screen: '', me: null, requests: [], highlight: '', busy: false, timer: 0, polling: false, backoff: 0, toast: 0 };

function el(tag, props, ...kids) {
	const n = document.createElement(tag);
	for (const [k, v] of Object.entries(props || {})) {
		if (k === 'text') n.textContent = v; else if (k in n) n[k] = v; else n.setAttribute(k, v);
	}
	n.append(...kids);
	return n;
}

// Telegram

function supports(version) {
	try { return !!tg && tg.isVersionAtLeast(version); } catch { return false; }
}
// Telegram's script also runs in a plain browser (platform "unknown"), where
// its buttons show nothing; only a real client gets the native controls.
function attachTelegram() {
	const w = window.Telegram?.WebApp;
	if (tg || !w || !w.platform || w.platform === 'unknown') return;
	tg = w;
	root.classList.add('tg-main');
	try { tg.ready(); tg.expand(); } catch { /* old client */ }
	tg.onEvent('themeChanged', applyTheme);
	tg.MainButton.onClick(submitOrder);
	if (supports('6.1')) tg.BackButton.onClick(goBack);
	applyTheme();
	syncChrome();
	if (!initData && tg.initData) {
		initData = tg.initData;
		if (S.screen === 'auth') { S.screen = ''; start(); }
	}
}
function haptic(kind) {
	try { if (supports('6.1')) tg.HapticFeedback.notificationOccurred(kind); } catch { /* unsupported */ }
}
function notify(message) {
	if (supports('6.2')) try { return tg.showAlert(message); } catch { /* fall through */ }
	const t = $('toast');
	t.textContent = message;
	t.hidden = false;
	clearTimeout(S.toast);
	S.toast = setTimeout(() => { t.hidden = true; }, 6000);
}
// openURL hands links to Telegram, which opens them outside the webview.
function openURL(url, file) {
	if (!tg) return false;
	try {
		if (file && supports('8.0')) tg.downloadFile({ url, file_name: file }); else tg.openLink(url);
		return true;
	} catch { return false; }
}

// Theme

function setThemeParams(p) {
	for (const [k, v] of Object.entries(p || {})) {
		if (/^[a-z_]+$/.test(k) && /^#[0-9a-f]{3,8}$/i.test(v)) root.style.setProperty('--tg-theme-' + k.replace(/_/g, '-'), v);
	}
}
function applyTheme() {
	let scheme = tg?.colorScheme;
	if (tg) setThemeParams(tg.themeParams);
	else {
		try {
			const p = JSON.parse(launch.get('tgWebAppThemeParams') || 'null');
			setThemeParams(p);
			const m = p && /^#(..)(..)(..)/.exec(p.bg_color);
			// Telegram's own rule for a dark background.
			if (m) scheme = parseInt(m[1], 16) * 0.299 + parseInt(m[2], 16) * 0.587 + parseInt(m[3], 16) * 0.114 < 120 ? 'dark' : 'light';
		} catch { /* no theme: prefers-color-scheme decides */ }
	}
	if (scheme === 'dark' || scheme === 'light') root.dataset.scheme = scheme; else delete root.dataset.scheme;
}

// API

// The API words its errors for the user; these cover a dead network or a proxy.
function apiError(status, body) {
	body = body || {};
	const err = new Error(body.message || (status ? status >= 500 ? 'Сервис временно недоступен. Попробуйте позже.' : 'Что-то пошло не так. Попробуйте ещё раз.' : 'Нет связи с сервером. Проверьте интернет.'));
	Object.assign(err, { status, retryAfter: body.retry_after || 0, auth: status === 401 || status === 403 });
	return err;
}
async function call(path, body) {
	const headers = { Accept: 'application/json' };
	if (initData) headers.Authorization = 'tma ' + initData;
	if (body) headers['Content-Type'] = 'application/json';
	let res, data;
	try {
		res = await fetch(new URL(path, api), { method: body ? 'POST' : 'GET', headers, body: body && JSON.stringify(body), cache: 'no-store' });
	} catch {
		throw apiError(0);
	}
	try { data = await res.json(); } catch { /* not JSON */ }
	if (res.ok) return data || {};
	const err = apiError(res.status, data);
	if (err.auth) showAuth(err);
	throw err;
}
function errorText(err) {
	return err.message + (err.retryAfter ? ' Повторите через ' + err.retryAfter + ' с.' : '');
}
function inlineError(box, err, retry) {
	box.replaceChildren(el('p', { text: errorText(err) }), el('button', { className: 'btn', text: 'Повторить', onclick: retry }));
	box.hidden = false;
}

// Navigation: ?screen=... in the URL, never the hash (it is Telegram's).

function screenFromURL() {
	const s = new URLSearchParams(location.search).get('screen') || launch.get('tgWebAppStartParam');
	return ['analytics', 'requests', 'promotions'].includes(s) ? s : 'home';
}
function urlFor(screen) {
	const q = new URLSearchParams(location.search);
	if (screen === 'home') q.delete('screen'); else q.set('screen', screen);
	const s = String(q);
	return location.pathname + (s ? '?' + s : '') + location.hash;
}
function go(screen, replace) {
	const depth = history.state?.depth || 0;
	if (replace) history.replaceState({ depth }, '', urlFor(screen));
	else history.pushState({ depth: depth + 1, from: S.screen }, '', urlFor(screen));
	show(screen, true);
}
function goBack() {
	if (history.state?.depth > 0) history.back(); else go('home', true);
}
function show(screen, focus) {
	if (S.screen === 'auth') return;
	S.screen = screen;
	for (const s of document.querySelectorAll('[data-screen]')) s.hidden = s.dataset.screen !== screen;
	document.title = $('title').textContent = TITLES[screen];
	clearTimeout(S.timer);
	$('toast').hidden = true;
	syncChrome();
	if (focus) { scrollTo(0, 0); $('title').focus(); }
	({ home: renderHome, analytics: enterAnalytics, requests: loadRequests, promotions: loadPromotions })[screen]?.();
}
function syncChrome() {
	const sub = !['', 'home', 'auth'].includes(S.screen);
	$('back').hidden = !sub || supports('6.1');
	if (!tg) return;
	if (supports('6.1')) tg.BackButton[sub ? 'show' : 'hide']();
	const mb = tg.MainButton;
	if (S.screen === 'analytics') { mb.setText('Заказать отчёт'); mb.show(); validate(); } else { mb.hideProgress(); mb.hide(); }
}
function botLink() {
	if (!config.bot_username) return;
	$('auth-bot').href = 'https://t.me/' + encodeURIComponent(config.bot_username);
	$('auth-bot').hidden = false;
}
function showAuth(err) {
	if (S.screen === 'auth') return;
	show('auth');
	const partner = err.status === 403;
	$('auth-title').textContent = partner ? 'Доступ только для партнёров' : 'Откройте приложение из бота';
	$('auth-msg').textContent = err.message;
	$('auth-hint').textContent = partner ? 'Авторизуйтесь в чате с ботом.' : 'Нажмите кнопку меню в чате с ботом.';
	botLink();
}

// Home

function renderHome() {
	const me = S.me;
	if (!me) return; // still loading: the skeleton stays
	const name = me.user?.first_name || me.partner?.name;
	$('greet').textContent = name ? 'Здравствуйте, ' + name + '!' : 'Здравствуйте!';
	$('partner').textContent = me.partner?.code ? 'Код партнёра: ' + me.partner.code : '';
}
async function loadMe() {
	$('home-err').hidden = true;
	try {
		S.me = await call('me');
	} catch (err) {
		S.me = {};
		if (!err.auth) inlineError($('home-err'), err, loadMe);
	}
	renderHome();
}

// Analytics 360

function recentCodes() {
	try {
		const list = JSON.parse(localStorage.getItem(RECENT));
		return Array.isArray(list) ? list.filter((c) => typeof c === 'string').slice(0, 5) : [];
	} catch { return []; }
}
function remember(code) {
	try { localStorage.setItem(RECENT, JSON.stringify([code, ...recentCodes().filter((c) => c !== code)].slice(0, 5))); } catch { /* storage off */ }
}
function enterAnalytics() {
	const codes = recentCodes();
	$('recent').replaceChildren(el('span', { className: 'hint', text: 'Недавние:' }), ...codes.map((code) =>
		el('button', { type: 'button', className: 'chip', text: code, onclick: () => { $('code').value = code; validate(); $('code').focus(); } })));
	$('recent').hidden = !codes.length;
	validate();
}
function onCodeInput() {
	const input = $('code');
	const v = input.value;
	const clean = v.toUpperCase().replace(/\s+/g, '');
	if (clean !== v) {
		const caret = v.slice(0, input.selectionStart).toUpperCase().replace(/\s+/g, '').length;
		input.value = clean;
		input.setSelectionRange(caret, caret);
	}
	validate();
}
function validate() {
	const v = $('code').value;
	const ok = codeRe.test(v);
	const bad = v !== '' && !ok;
	const hint = $('code-hint');
	hint.textContent = !bad ? 'Например, MSK-100001'
		: /[А-ЯЁ]/.test(v) ? 'Нужны латинские буквы: MSK-100001'
		: config.object_code_pattern === PATTERN ? 'Формат: 2–4 латинские буквы, дефис, 3–8 цифр'
		: 'Код не подходит по формату';
	hint.classList.toggle('bad', bad);
	$('code').setAttribute('aria-invalid', bad);
	$('submit').disabled = !ok || S.busy;
	if (tg && S.screen === 'analytics') tg.MainButton[ok && !S.busy ? 'enable' : 'disable']();
	return ok;
}
function setBusy(busy) {
	S.busy = busy;
	$('submit').setAttribute('aria-busy', busy);
	if (tg) tg.MainButton[busy ? 'showProgress' : 'hideProgress'](false);
	validate();
}
async function submitOrder(event) {
	if (event) event.preventDefault();
	if (S.busy || S.screen !== 'analytics' || !validate()) return;
	const code = $('code').value;
	setBusy(true);
	try {
		const { request } = await call('analytics', { object_code: code });
		remember(code);
		haptic('success');
		$('code').value = '';
		setBusy(false);
		if (request?.id) {
			S.highlight = request.id;
			S.requests = [request, ...S.requests.filter((r) => r.id !== request.id)];
		}
		// Back never leads to the used form or to the list twice.
		if (history.state?.from === 'requests') history.back(); else go('requests', true);
	} catch (err) {
		setBusy(false);
		if (err.auth) return;
		haptic('error');
		if (err.status === 400) {
			$('code-hint').textContent = err.message;
			$('code-hint').classList.add('bad');
		} else notify(errorText(err));
	}
}

// My requests

const pad = (n) => String(n).padStart(2, '0');
const dayNumber = (d) => Math.round(new Date(d.getFullYear(), d.getMonth(), d.getDate()) / 864e5);
// "сегодня, 14:05", "вчера, 09:30", "5 марта, 18:00", "5 марта 2025" (no clock).
function formatDate(iso, clock) {
	const d = new Date(iso);
	if (isNaN(d)) return '';
	const now = new Date();
	const days = dayNumber(now) - dayNumber(d);
	let s = d.getDate() + ' ' + MONTHS[d.getMonth()] + (d.getFullYear() !== now.getFullYear() ? ' ' + d.getFullYear() : '');
	if (!clock) return s;
	if (days === 0) s = 'сегодня'; else if (days === 1) s = 'вчера';
	return s + ', ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
}
function skeleton(list, n, cls) {
	list.setAttribute('aria-busy', true);
	list.replaceChildren(...Array.from({ length: n }, () => el('li', { className: 'skel ' + cls, 'aria-hidden': true }, el('span', { className: 'sk' }))));
}
function requestItem(r) {
	const li = el('li', { className: 'req' + (r.id === S.highlight ? ' new' : '') },
		el('div', { className: 'req-head' }, el('span', { className: 'code', text: r.object_code }), el('span', { className: 'badge s-' + r.status, text: STATUS[r.status] || r.status })),
		el('time', { className: 'hint', dateTime: r.created_at, text: formatDate(r.created_at, true) }));
	Object.assign(li.dataset, { id: r.id, status: r.status });
	const p = (cls, text) => li.append(el('p', { className: cls, text }));
	if (r.status === 'DONE') {
		if (r.result_text) p('result', r.result_text);
		if (r.report_url) {
			const href = new URL(r.report_url, api).href;
			const file = r.object_code + '.pdf';
			li.append(el('a', { className: 'pdf', href, download: file, target: '_blank', rel: 'noopener', text: 'Скачать PDF', onclick: (e) => { if (openURL(href, file)) e.preventDefault(); } }));
		}
		if (r.delivered) p('hint', 'Отправлен в чат');
	} else if (r.status === 'ERROR') p('err', r.error || 'Не удалось подготовить отчёт');
	else if (PENDING.includes(r.status)) p('hint', 'Придёт в чат, когда будет готов');
	return li;
}
// renderRequests updates the list in place, so polling neither flickers nor
// steals focus; a changed request is announced to screen readers.
function renderRequests() {
	const list = $('req-list');
	const old = new Map();
	for (const li of [...list.children]) if (li.dataset.id) old.set(li.dataset.id, li); else li.remove();
	let prev = null;
	for (const r of S.requests) {
		const key = [r.status, r.updated_at, r.report_url, r.delivered, r.id === S.highlight].join();
		let li = old.get(r.id);
		old.delete(r.id);
		if (!li || li.dataset.key !== key) {
			const fresh = requestItem(r);
			fresh.dataset.key = key;
			if (li && li.dataset.status !== r.status) {
				$('live').textContent = r.object_code + ': ' + (STATUS[r.status] || r.status);
				if (r.status === 'DONE') haptic('success');
			}
			if (li) li.replaceWith(fresh);
			li = fresh;
		}
		const at = prev ? prev.nextSibling : list.firstChild;
		if (li !== at) list.insertBefore(li, at);
		prev = li;
	}
	old.forEach((li) => li.remove());
	$('req-empty').hidden = S.requests.length > 0;
	list.removeAttribute('aria-busy');
}
function loadRequests() {
	$('req-err').hidden = true;
	if (S.requests.length) renderRequests();
	else { $('req-empty').hidden = true; skeleton($('req-list'), 3, ''); }
	const mine = $('req-list').querySelector('.new');
	if (mine) mine.scrollIntoView({ block: 'nearest' });
	refresh(true);
}
async function refresh(first) {
	if (S.polling) return;
	S.polling = true;
	try {
		const { requests } = await call('analytics');
		S.backoff = 0;
		if (S.screen !== 'requests') return;
		// The list may lag behind the POST that just answered; keep that one.
		const mine = S.requests.find((r) => r.id === S.highlight);
		S.requests = Array.isArray(requests) ? requests : [];
		if (mine && !S.requests.some((r) => r.id === mine.id)) S.requests.unshift(mine);
		renderRequests();
	} catch (err) {
		if (err.auth || S.screen !== 'requests') return;
		if (first && !S.requests.length) {
			$('req-list').replaceChildren();
			return inlineError($('req-err'), err, loadRequests);
		}
		// A failed poll retries quietly, slower each time.
		S.backoff = Math.min(30000, Math.max(err.retryAfter * 1000, (S.backoff || interval()) * 2));
	} finally {
		S.polling = false;
	}
	schedule();
}
function interval() {
	return config.poll_interval_ms >= 100 ? config.poll_interval_ms : 3000;
}
// Poll only while something is still moving and someone is looking.
function schedule() {
	clearTimeout(S.timer);
	if (S.screen === 'requests' && !document.hidden && S.requests.some((r) => PENDING.includes(r.status))) {
		S.timer = setTimeout(refresh, S.backoff || interval());
	}
}

// Promotions

const TAGS = { B: 'b', STRONG: 'b', I: 'i', EM: 'i', U: 'u', INS: 'u', S: 's', STRIKE: 's', DEL: 's', CODE: 'code', PRE: 'pre', BR: 'br', A: 'a' };
const DROP = ['SCRIPT', 'STYLE', 'TEMPLATE', 'IFRAME', 'OBJECT', 'EMBED', 'NOSCRIPT', 'TEXTAREA', 'TITLE', 'SELECT', 'svg', 'math'];
function safeURL(href, base) {
	try {
		const u = new URL(href, base);
		return /^https?:$/.test(u.protocol) ? u.href : '';
	} catch { return ''; }
}
// sanitize parses in an inert document (nothing runs or loads there) and
// copies only allowlisted tags; other elements shrink to their text, and no
// attribute survives but a checked http(s) href.
function sanitize(html) {
	const doc = new DOMParser().parseFromString('<!doctype html><body>' + (html || ''), 'text/html');
	const out = document.createDocumentFragment();
	(function copy(from, to) {
		for (const n of from.childNodes) {
			if (n.nodeType === 3) { to.append(n.data); continue; }
			if (n.nodeType !== 1 || DROP.includes(n.tagName)) continue;
			const tag = TAGS[n.tagName];
			const href = tag === 'a' && safeURL(n.getAttribute('href') || '');
			if (!tag || href === '') { copy(n, to); continue; }
			const e = document.createElement(tag);
			if (href) Object.assign(e, { href, target: '_blank', rel: 'noopener noreferrer' });
			if (tag !== 'br') copy(n, e);
			to.append(e);
		}
	})(doc.body, out);
	return out;
}
function promotionCard(p) {
	const card = el('article', { className: 'card' });
	const src = p.image_url && safeURL(p.image_url, api);
	if (src) {
		const img = el('img', { src, alt: '', loading: 'lazy', decoding: 'async' });
		img.onerror = () => img.remove();
		card.append(img);
	}
	card.append(el('h2', { text: p.title || '' }), el('div', { className: 'rich' }, sanitize(p.text)));
	const since = formatDate(p.starts_at, false);
	if (since) card.append(el('p', { className: 'hint', text: (new Date(p.starts_at) > new Date() ? 'Стартует ' : 'С ') + since }));
	return card;
}
async function loadPromotions() {
	const list = $('promo-list');
	$('promo-err').hidden = $('promo-empty').hidden = true;
	skeleton(list, 2, 'card-sk');
	try {
		const { promotions } = await call('promotions');
		if (S.screen !== 'promotions') return;
		const items = Array.isArray(promotions) ? promotions : [];
		list.replaceChildren(...items.map(promotionCard));
		$('promo-empty').hidden = items.length > 0;
	} catch (err) {
		list.replaceChildren();
		if (!err.auth) inlineError($('promo-err'), err, loadPromotions);
	} finally {
		list.removeAttribute('aria-busy');
	}
}

// Start

async function loadConfig() {
	try {
		config = Object.assign(config, await call('config'));
		try { codeRe = new RegExp(config.object_code_pattern); } catch { config.object_code_pattern = PATTERN; codeRe = new RegExp(PATTERN); }
		if (S.screen === 'analytics') validate();
		if (S.screen === 'auth') botLink();
	} catch { /* the defaults are the server's */ }
}
function start() {
	const first = screenFromURL();
	history.replaceState({ depth: 0 }, '', urlFor(first));
	loadConfig();
	if (!initData) return showAuth(apiError(401, { message: 'Приложение работает только внутри Telegram.' }));
	show(first);
	loadMe();
}

document.addEventListener('click', (e) => {
	const nav = e.target.closest('[data-go]');
	const link = e.target.closest('.rich a');
	if (nav) go(nav.dataset.go);
	else if (link && openURL(link.href)) e.preventDefault();
});
$('back').onclick = goBack;
$('code').oninput = onCodeInput;
$('order').onsubmit = submitOrder;
$('tg-sdk').onload = attachTelegram;
onpopstate = () => show(screenFromURL(), true);
document.addEventListener('visibilitychange', () => {
	if (document.hidden) clearTimeout(S.timer); else if (S.screen === 'requests') refresh();
});

attachTelegram();
if (tg?.initData) initData = tg.initData;
applyTheme();
start();
})();
