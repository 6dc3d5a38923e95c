// The sandbox page: a Telegram-like client over the emulators' control APIs.
// Everything it does goes through the documented endpoints named in
// endpoints.json (see doc.go); it never talks to the bot's internals.
'use strict';

// ---------------------------------------------------------------------------
// Small helpers

const $ = (testid, root = document) => root.querySelector(`[data-testid="${testid}"]`);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

class APIError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

// api calls a JSON control endpoint. Errors carry the emulator's
// {"error": "…"} text, which is what a person needs to see.
async function api(base, path, { method = 'GET', body, signal, headers } = {}) {
  const init = { method, signal, headers: { ...headers } };
  if (body !== undefined) {
    if (body instanceof Blob) {
      init.body = body;
    } else {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }
  let resp;
  try {
    resp = await fetch(base + path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new APIError(`${method} ${base + path}: нет связи (${e.message})`, 0);
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!resp.ok) {
    const reason = (data && typeof data === 'object' && (data.error?.message || data.error)) || text || resp.statusText;
    throw new APIError(`${method} ${path}: ${resp.status} ${reason}`, resp.status);
  }
  return data;
}

function toast(text, kind = 'info', ms = 4000) {
  const box = el('div', { class: `toast ${kind}`, 'data-testid': 'toast', role: kind === 'error' ? 'alert' : 'status', text });
  const close = () => box.remove();
  box.addEventListener('click', close);
  $('toasts').append(box);
  if (kind !== 'alert') setTimeout(close, ms);
}

// reportError shows a failure once; polling loops call it on every failed
// round, so identical messages are not stacked.
const shownErrors = new Map();
function reportError(e, context) {
  if (e?.name === 'AbortError') return;
  const msg = context ? `${context}: ${e.message}` : e.message;
  console.warn(msg);
  const last = shownErrors.get(msg) || 0;
  if (Date.now() - last > 15000) {
    shownErrors.set(msg, Date.now());
    toast(msg, 'error', 6000);
  }
}

// Connection status per poller: the banner lists what cannot be reached.
const offline = new Map();
function setOnline(name, ok, message) {
  if (ok) offline.delete(name); else offline.set(name, message);
  const banner = $('connection-status');
  banner.hidden = offline.size === 0;
  banner.textContent = [...offline.values()].join(' · ');
}

function fmtTime(unix) {
  if (!unix) return '';
  return new Date(unix * 1000).toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit' });
}

function fmtSize(bytes) {
  if (!bytes && bytes !== 0) return '';
  if (bytes < 1024) return `${bytes} Б`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toLocaleString('ru-RU', { maximumFractionDigits: 1 })} КБ`;
  return `${(bytes / 1024 / 1024).toLocaleString('ru-RU', { maximumFractionDigits: 1 })} МБ`;
}

function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
  return (parts.slice(0, 2).map((p) => [...p][0]).join('') || '?').toUpperCase();
}

function senderName(from) {
  if (!from) return '';
  return [from.first_name, from.last_name].filter(Boolean).join(' ') || from.username || String(from.id);
}

// normalizePhone mirrors domain.NormalizePhone: digits in international
// form, Russian 8… and bare 9… numbers become 7…; null if not a phone.
export function normalizePhone(value) {
  const s = String(value ?? '').trim();
  let d = '';
  for (const ch of s) {
    if (ch >= '0' && ch <= '9') d += ch;
    else if ('+ -().\u00a0\t'.includes(ch)) continue;
    else return null;
  }
  if (d.length === 11 && d[0] === '8') d = '7' + d.slice(1);
  else if (d.length === 10 && d[0] === '9') d = '7' + d;
  if (d.length < 10 || d.length > 15) return null;
  return d;
}

// userIdForPhone gives a partner without a Telegram ID a stable simulated
// account, so choosing the same partner again reopens the same chat.
export function userIdForPhone(phone) {
  return 7000000000 + Number(phone.slice(-9));
}

function parseTelegramID(value) {
  const s = String(value ?? '').trim().replace(/\.0+$/, '');
  if (!/^\d{1,15}$/.test(s)) return 0;
  const n = Number(s);
  return n > 0 ? n : 0;
}

function displayPhone(phone) {
  const m = /^7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(phone || '');
  return m ? `+7 ${m[1]} ${m[2]}-${m[3]}-${m[4]}` : (phone ? `+${phone}` : '');
}

// ---------------------------------------------------------------------------
// Telegram HTML: a strict allowlist renderer. Bot text is never assigned to
// innerHTML; it is tokenized here and rebuilt from DOM nodes, and anything
// that is not one of the allowed tags stays visible as literal text.

const ALLOWED_TAGS = {
  b: 'b', strong: 'strong', i: 'i', em: 'em', u: 'u', ins: 'u', s: 's', strike: 's', del: 'del',
  a: 'a', code: 'code', pre: 'pre', blockquote: 'blockquote', 'tg-spoiler': 'tg-spoiler',
  span: 'tg-spoiler', 'tg-emoji': 'tg-emoji', br: 'br',
};
const LINK_PROTOCOLS = new Set(['http:', 'https:', 'tg:']);
const TAG_RE = /<(\/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^\s=>\/"']+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*)\s*(\/?)>/y;
const ATTR_RE = /([^\s=>\/"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g;
const ENTITY_RE = /&(?:(lt|gt|amp|quot|apos)|#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6}));/y;
const NAMED_ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntityAt(src, i) {
  ENTITY_RE.lastIndex = i;
  const m = ENTITY_RE.exec(src);
  if (!m) return null;
  let ch;
  if (m[1]) ch = NAMED_ENTITIES[m[1]];
  else {
    const cp = m[2] ? parseInt(m[2], 10) : parseInt(m[3], 16);
    if (cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
    ch = String.fromCodePoint(cp);
  }
  return { ch, end: ENTITY_RE.lastIndex };
}

function decodeEntities(s) {
  let out = '';
  for (let i = 0; i < s.length;) {
    if (s[i] === '&') {
      const d = decodeEntityAt(s, i);
      if (d) { out += d.ch; i = d.end; continue; }
    }
    out += s[i++];
  }
  return out;
}

function parseAttrs(s) {
  const attrs = {};
  ATTR_RE.lastIndex = 0;
  for (let m; (m = ATTR_RE.exec(s));) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

function safeLink(href) {
  try {
    const u = new URL(href);
    return LINK_PROTOCOLS.has(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

function openTagElement(name, attrs) {
  switch (ALLOWED_TAGS[name]) {
    case 'a': {
      const href = safeLink(attrs.href ?? '');
      if (!href) return el('span', { class: 'dead-link' });
      return el('a', { href, target: '_blank', rel: 'noopener noreferrer' });
    }
    case 'tg-spoiler': {
      if (name === 'span' && attrs.class !== 'tg-spoiler') return null;
      const s = el('span', { class: 'spoiler', title: 'Спойлер — нажмите, чтобы показать' });
      s.addEventListener('click', () => s.classList.add('revealed'));
      return s;
    }
    case 'tg-emoji': return el('span', { class: 'tg-emoji' });
    case 'blockquote': {
      const q = el('blockquote');
      if ('expandable' in attrs) {
        q.classList.add('expandable');
        q.addEventListener('click', () => q.classList.toggle('expanded'));
      }
      return q;
    }
    case 'code': {
      const c = el('code');
      const lang = /^language-([\w+#.-]{1,32})$/.exec(attrs.class || '');
      if (lang) c.dataset.language = lang[1];
      return c;
    }
    case undefined: return null;
    default: return el(ALLOWED_TAGS[name]);
  }
}

// renderTelegramHTML builds a fragment from Telegram-flavoured HTML.
export function renderTelegramHTML(src) {
  const root = document.createDocumentFragment();
  const stack = [{ name: '', node: root }];
  let text = '';
  const flush = () => {
    if (text) stack[stack.length - 1].node.append(document.createTextNode(text));
    text = '';
  };
  for (let i = 0; i < src.length;) {
    const c = src[i];
    if (c === '&') {
      const d = decodeEntityAt(src, i);
      if (d) { text += d.ch; i = d.end; continue; }
    } else if (c === '<') {
      TAG_RE.lastIndex = i;
      const m = TAG_RE.exec(src);
      if (m) {
        const closing = m[1] === '/';
        const name = m[2].toLowerCase();
        if (!closing) {
          const node = openTagElement(name, parseAttrs(m[3]));
          if (node) {
            flush();
            stack[stack.length - 1].node.append(node);
            if (name !== 'br' && m[4] !== '/') stack.push({ name, node });
            i = TAG_RE.lastIndex;
            continue;
          }
        } else if (stack.length > 1 && stack[stack.length - 1].name === name) {
          flush();
          stack.pop();
          i = TAG_RE.lastIndex;
          continue;
        }
      }
    }
    text += c;
    i++;
  }
  flush();
  return root;
}

const URL_RE = /\bhttps?:\/\/[^\s<>"«»]+[^\s<>"«».,;:!?)\]]/g;

// renderPlainText turns bare links into anchors, as Telegram clients do.
function renderPlainText(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    const href = safeLink(m[0]);
    if (!href) continue;
    frag.append(text.slice(last, m.index), el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: m[0] }));
    last = m.index + m[0].length;
  }
  frag.append(text.slice(last));
  return frag;
}

// renderBody shows a text or caption. raw_text is only set when parse_mode
// changed the text; otherwise the visible text is all there is.
function renderBody(m, field) {
  const raw = field === 'text' ? m.raw_text : m.raw_caption;
  if (m.from_bot && (m.parse_mode || '').toLowerCase() === 'html' && raw) return renderTelegramHTML(raw);
  return renderPlainText(m[field] || '');
}

// ---------------------------------------------------------------------------
// State

const state = {
  ep: null,
  bot: null,           // GET /bot
  user: null,          // the simulated partner: {id, first_name, last_name, phone, code}
  userRecord: null,    // the emulator's view of that user (blocked, …)
  partners: [],        // from the Auth sheet
  spreadsheet: null,   // last snapshot
  chat: null,          // ChatView of the private chat
  group: null,         // ChatView of the operators' group
  editing: null,       // message id being edited
  groupReplyTo: null,  // message id the operator answers
  forum: false,        // the operators' group is a forum (topics)
  topics: [],          // its topics (GET chats/{id}/topics)
  groupThread: 0,      // the topic shown and written to; 0: all messages
  keyboard: null,      // {markup, messageId, hidden}
  menuButton: null,
};

const STORE_USER = 'mb-sandbox:user';
const STORE_CUSTOM = 'mb-sandbox:custom-users';
const STORE_GROUP_SEEN = 'mb-sandbox:group-seen';
const STORE_SHEET = 'mb-sandbox:sheet';

function store(key, value) {
  try {
    if (value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch { /* private mode: the page still works, it just forgets */ }
}

function load(key, fallback) {
  try {
    const v = localStorage.getItem(key);
    return v === null ? fallback : JSON.parse(v);
  } catch {
    return fallback;
  }
}

const tg = (path, opts) => api(state.ep.telegram_control, path, opts);

// fileURL points a transcript file at the control API the page was given.
// The emulator builds absolute URLs from the Host it saw, which drops any
// prefix the sandbox mounts it under.
function fileURL(u) {
  if (!u) return '';
  const i = u.indexOf('/_emulator/files/');
  if (i < 0) return safeLink(u) || '';
  return state.ep.telegram_control.replace(/\/+$/, '') + u.slice(i + '/_emulator'.length);
}

// ---------------------------------------------------------------------------
// Transcripts

const KIND_LABELS = {
  sticker: '🙂 Стикер', voice: '🎤 Голосовое сообщение', video_note: '⏺ Видеосообщение', video: '🎬 Видео',
  audio: '🎵 Аудио', animation: 'GIF', location: '📍 Геопозиция', venue: '📍 Место', poll: '📊 Опрос',
  dice: '🎲 Кубик', other: 'Служебное сообщение',
  forum_topic_created: '🗂 Тема создана', forum_topic_edited: '✏️ Тема изменена',
  forum_topic_closed: '🔒 Тема закрыта', forum_topic_reopened: '🔓 Тема открыта снова',
};

const SERVICE_KINDS = new Set(['forum_topic_created', 'forum_topic_edited', 'forum_topic_closed', 'forum_topic_reopened']);

function fmtDuration(sec) {
  const s = Math.max(0, Math.round(sec || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// ChatView keeps one chat's transcript on screen: a long poll for new
// messages plus a periodic full read, because edits (new text, removed
// inline keyboards) and the typing indicator only show in a full read.
class ChatView {
  constructor({ chatId, container, isGroup, viewerId, onChange, decorate, onMissing }) {
    this.chatId = chatId;
    this.onMissing = onMissing;
    this.container = container;
    this.isGroup = isGroup;
    this.viewerId = viewerId;
    this.onChange = onChange || (() => {});
    this.decorate = decorate;
    this.messages = new Map();
    this.nodes = new Map();
    this.lastId = 0;
    this.abort = new AbortController();
    this.typingUntil = 0;
    this.draftNode = null;       // the bot's draft being streamed (private chat)
    this.draftSig = '';
    this.replacedDrafts = new Set(); // draft ids a message took the place of
  }

  start() {
    this.container.replaceChildren(this.isGroup
      ? el('div', { class: 'empty', text: 'Сообщений пока нет.' })
      // Telegram shows a new chat with a bot as a single START button.
      : el('div', { class: 'empty' }, 'Это начало чата с ботом.', el('br'),
        el('button', { type: 'button', class: 'start-bot', 'data-testid': 'start-button', onclick: () => sendStart(this.viewerId) }, 'Запустить бота'),
        el('br'), el('small', { text: 'или напишите /start' })));
    this.longPoll();
    this.refreshLoop();
  }

  stop() {
    this.abort.abort();
    clearTimeout(this.typingTimer);
  }

  get name() { return this.isGroup ? 'группа операторов' : 'чат'; }

  async longPoll() {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const t = await tg(`/chats/${this.chatId}?after=${this.lastId}&wait=25`, { signal });
        setOnline(`chat:${this.isGroup}`, true);
        this.apply(t, false);
      } catch (e) {
        if (signal.aborted) return;
        if (e.status === 404) {
          this.missing();
          return;
        }
        setOnline(`chat:${this.isGroup}`, false, `Telegram-эмулятор недоступен (${this.name})`);
        await sleep(2000, signal);
      }
    }
  }

  // refreshLoop reads the whole chat every 2 s, and every 400 ms while
  // the bot types or streams a draft: a draft changes no message, so the
  // long poll does not see it grow.
  async refreshLoop() {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      await this.refresh();
      await sleep(this.draftNode || this.typing ? 400 : 2000, signal);
    }
  }

  async refresh() {
    try {
      const t = await tg(`/chats/${this.chatId}`, { signal: this.abort.signal });
      this.apply(t, true);
    } catch (e) {
      if (!this.abort.signal.aborted && e.status === 404) this.missing();
    }
  }

  // missing handles a chat the emulator no longer knows: it was restarted
  // or reset, its message ids start again at 1, so the view starts over.
  missing() {
    if (this.abort.signal.aborted) return;
    this.stop();
    setOnline(`chat:${this.isGroup}`, true);
    toast(`Эмулятор Telegram забыл ${this.isGroup ? 'группу операторов' : 'этот чат'} (перезапуск?) — создаю заново.`);
    this.onMissing?.();
  }

  apply(t, full) {
    if (this.abort.signal.aborted || !t) return;
    const box = this.container;
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    let added = false;
    let ownAdded = false;
    for (const m of t.messages || []) {
      const prev = this.messages.get(m.message_id);
      this.messages.set(m.message_id, m);
      if (!prev) {
        added = true;
        if (!m.from_bot && m.from?.id === this.viewerId) ownAdded = true;
      }
      this.lastId = Math.max(this.lastId, m.message_id);
      if (m.draft) this.replacedDrafts.add(m.draft.draft_id);
    }
    for (const m of t.messages || []) this.renderMessage(m);
    if (!this.isGroup) this.renderDraft(t.draft);
    if (full || t.chat_action) this.setTyping(t.chat_action);
    else if ((t.messages || []).some((m) => m.from_bot)) this.setTyping(null);
    if (added && (nearBottom || ownAdded)) box.scrollTop = box.scrollHeight;
    this.onChange(this, { added });
  }

  setTyping(action) {
    const until = action ? Date.parse(action.until) : 0;
    this.typingUntil = until > Date.now() ? until : 0;
    this.onChange(this, { typing: true });
    if (this.typingUntil) {
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => this.onChange(this, { typing: true }), this.typingUntil - Date.now() + 50);
    }
  }

  get typing() { return this.typingUntil > Date.now(); }

  signature(m) {
    const quoted = m.reply_to_message_id ? this.messages.get(m.reply_to_message_id) : null;
    return JSON.stringify(m) + '\u0000' + (quoted ? quoted.text || quoted.caption || quoted.kind : '') +
      '\u0000' + (this.decorate ? this.decorate.signature(m) : '');
  }

  renderMessage(m) {
    const sig = this.signature(m);
    const old = this.nodes.get(m.message_id);
    if (old && old.sig === sig) return;
    const node = this.buildMessage(m);
    if (old) {
      old.node.replaceWith(node);
    } else {
      this.container.querySelector(':scope > .empty')?.remove();
      // Keep message_id order even when a full read and a long poll race.
      let next = null;
      for (const [id, n] of this.nodes) {
        if (id > m.message_id && (!next || id < next.id)) next = { id, node: n.node };
      }
      this.container.insertBefore(node, next ? next.node : (this.draftNode?.isConnected ? this.draftNode : null));
    }
    this.nodes.set(m.message_id, { sig, node });
  }

  // renderDraft shows the bot's draft (sendMessageDraft) below the last
  // message, as Telegram shows an answer being written, until the message
  // that replaces it arrives. A draft a message already replaced (a read
  // that started before that message) is not shown again.
  renderDraft(d) {
    if (d && this.replacedDrafts.has(d.draft_id)) d = null;
    const sig = d ? `${d.draft_id}:${d.updates}:${d.raw_text || d.text}` : '';
    if (sig === this.draftSig) return;
    this.draftSig = sig;
    if (!d) {
      this.draftNode?.remove();
      this.draftNode = null;
      return;
    }
    const box = this.container;
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    const body = renderBody({ from_bot: true, parse_mode: d.parse_mode, raw_text: d.raw_text, text: d.text }, 'text');
    const node = el('div', { class: 'msg in draft', 'data-testid': 'draft', 'data-draft-id': d.draft_id, 'data-updates': d.updates },
      el('div', { class: 'bubble' },
        el('div', { class: 'text', 'data-testid': 'draft-text' }, body),
        el('span', { class: 'meta draft-meta' }, 'пишет', el('span', { class: 'dots' }, el('i'), el('i'), el('i')))));
    if (this.draftNode?.isConnected) this.draftNode.replaceWith(node);
    else {
      box.querySelector(':scope > .empty')?.remove();
      box.append(node);
    }
    this.draftNode = node;
    if (nearBottom) box.scrollTop = box.scrollHeight;
  }

  buildMessage(m) {
    const mine = !m.from_bot && m.from?.id === this.viewerId;
    const wrap = el('div', {
      class: `msg ${mine ? 'out' : 'in'}${m.deleted ? ' deleted' : ''}`,
      'data-testid': 'message',
      'data-message-id': m.message_id,
      'data-from-bot': m.from_bot ? 'true' : 'false',
      'data-kind': m.kind,
      id: `${this.isGroup ? 'g' : 'c'}-msg-${m.message_id}`,
    });
    const bubble = el('div', { class: 'bubble' });
    wrap.append(bubble);
    if (this.isGroup && !mine) {
      bubble.append(el('div', { class: 'sender', text: m.from_bot ? (state.bot?.first_name || 'Бот') : senderName(m.from) }));
    }
    if (m.deleted) {
      bubble.append(el('div', { class: 'text muted', text: 'Сообщение удалено' }));
      return wrap;
    }
    if (m.forward_origin) bubble.append(el('div', { class: 'forwarded', text: 'Пересланное сообщение' }));
    if (m.reply_to_message_id) bubble.append(this.buildQuote(m.reply_to_message_id));
    if (m.photo) {
      const src = fileURL(m.photo.url);
      bubble.append(src
        ? el('a', { href: src, target: '_blank', rel: 'noopener', class: 'photo-link' },
          el('img', { class: 'photo', 'data-testid': 'photo', src, alt: 'Фото', loading: 'lazy' }))
        : el('div', { class: 'placeholder', text: '🖼 Фото' }));
    }
    if (m.document) bubble.append(buildDocument(m.document));
    if (m.contact) {
      bubble.append(el('div', { class: 'contact', 'data-testid': 'contact-card' },
        el('span', { class: 'avatar small', text: initials(m.contact.first_name) }),
        el('span', {}, el('b', { text: [m.contact.first_name, m.contact.last_name].filter(Boolean).join(' ') }),
          el('br'), displayPhone(normalizePhone(m.contact.phone_number) || m.contact.phone_number))));
    }
    if (SERVICE_KINDS.has(m.kind)) wrap.classList.add('service');
    if (KIND_LABELS[m.kind]) {
      const label = KIND_LABELS[m.kind] + (m.media?.duration ? ` · ${fmtDuration(m.media.duration)}` : '');
      bubble.append(el('div', { class: 'placeholder', text: label }));
    }
    if (m.media?.url && (m.kind === 'voice' || m.kind === 'audio')) {
      bubble.append(el('audio', { class: 'voice', 'data-testid': 'voice-player', controls: true, preload: 'none', src: fileURL(m.media.url) }));
    }
    if (m.text) bubble.append(el('div', { class: 'text', 'data-testid': 'message-text' }, renderBody(m, 'text')));
    if (m.caption) bubble.append(el('div', { class: 'text caption', 'data-testid': 'message-text' }, renderBody(m, 'caption')));
    const meta = el('span', { class: 'meta' }, m.edit_date ? 'изменено ' : '', fmtTime(m.date));
    bubble.append(meta);
    if (mine && !this.isGroup && m.kind === 'text') {
      bubble.append(el('button', {
        type: 'button', class: 'edit-own', 'data-testid': 'edit-message-button', title: 'Изменить',
        onclick: () => startEditing(m),
      }, '✎'));
    }
    const kb = m.from_bot && m.reply_markup?.inline_keyboard;
    if (Array.isArray(kb) && kb.length) wrap.append(this.buildInlineKeyboard(m, kb));
    if (this.decorate) this.decorate.message(m, wrap);
    return wrap;
  }

  buildQuote(id) {
    const q = this.messages.get(id);
    const who = q ? (q.from_bot ? (state.bot?.first_name || 'Бот') : senderName(q.from)) : '';
    const preview = q ? (q.text || q.caption || KIND_LABELS[q.kind] || q.kind) : `сообщение #${id}`;
    return el('div', {
      class: 'quote', 'data-testid': 'reply-quote', 'data-reply-to': id,
      onclick: () => document.getElementById(`${this.isGroup ? 'g' : 'c'}-msg-${id}`)?.scrollIntoView({ block: 'center', behavior: 'smooth' }),
    }, who ? el('b', { text: who }) : null, el('span', { text: preview.slice(0, 140) }));
  }

  buildInlineKeyboard(m, rows) {
    const box = el('div', { class: 'inline-kb', 'data-testid': 'inline-keyboard' });
    for (const row of rows) {
      const r = el('div', { class: 'kb-row' });
      for (const b of row || []) {
        const kind = b.callback_data !== undefined ? 'callback' : b.url ? 'url' : b.web_app ? 'web_app' : b.copy_text ? 'copy' : 'unsupported';
        const btn = el('button', {
          type: 'button', class: `kb-button ${kind}`, 'data-testid': 'inline-button', 'data-kind': kind,
          'data-callback-data': b.callback_data, 'data-message-id': m.message_id,
          title: kind === 'url' ? b.url : kind === 'unsupported' ? 'Эта кнопка в песочнице не работает' : undefined,
          disabled: kind === 'unsupported',
        }, b.text || '');
        btn.addEventListener('click', () => this.pressInline(m, b, kind, btn));
        r.append(btn);
      }
      box.append(r);
    }
    return box;
  }

  async pressInline(m, b, kind, btn) {
    if (kind === 'url') {
      const href = safeLink(b.url);
      if (href) window.open(href, '_blank', 'noopener');
      return;
    }
    if (kind === 'web_app') {
      openMiniApp(b.web_app.url, b.text, this.viewerId);
      return;
    }
    if (kind === 'copy') {
      try {
        await navigator.clipboard.writeText(b.copy_text.text);
        toast('Скопировано');
      } catch (e) {
        reportError(e, 'копирование');
      }
      return;
    }
    if (kind !== 'callback') return;
    btn.classList.add('busy');
    try {
      const r = await tg('/press', {
        method: 'POST',
        body: { user_id: this.viewerId, chat_id: this.chatId, message_id: m.message_id, data: b.callback_data },
      });
      await watchCallback(r.callback_query_id);
    } catch (e) {
      reportError(e, 'кнопка');
    } finally {
      btn.classList.remove('busy');
    }
  }
}

function buildDocument(d) {
  const href = fileURL(d.url);
  const ext = (/\.([A-Za-z0-9]{1,5})$/.exec(d.file_name || '')?.[1] || (d.mime_type || '').split('/')[1] || 'file').slice(0, 4);
  const card = el(href ? 'a' : 'div', {
    class: 'doc', 'data-testid': 'document', href: href || undefined, target: href ? '_blank' : undefined,
    rel: href ? 'noopener' : undefined, 'data-file-name': d.file_name || '',
  },
  el('span', { class: 'doc-icon', text: ext.toUpperCase() }),
  el('span', { class: 'doc-info' },
    el('span', { class: 'doc-name', 'data-testid': 'document-name', text: d.file_name || 'Документ' }),
    el('span', { class: 'doc-size', 'data-testid': 'document-size', text: [fmtSize(d.size), d.mime_type].filter(Boolean).join(' · ') })));
  return card;
}

// watchCallback shows the bot's answerCallbackQuery like Telegram does: a
// toast, or an alert the person dismisses.
async function watchCallback(id) {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    await sleep(250);
    let cb;
    try {
      cb = await tg(`/callbacks/${encodeURIComponent(id)}`);
    } catch (e) {
      reportError(e, 'ответ на кнопку');
      return;
    }
    if (cb.answered) {
      if (cb.text) toast(cb.text, cb.show_alert ? 'alert' : 'info');
      if (cb.url && safeLink(cb.url)) window.open(cb.url, '_blank', 'noopener');
      return;
    }
  }
}

// ---------------------------------------------------------------------------
// The private chat: keyboard, typing, composer

function onChatChange(view, change) {
  if (view !== state.chat) return; // a late timer of the previous user's chat
  if (change.typing !== undefined || change.added !== undefined) {
    $('typing').hidden = !view.typing;
    $('bot-status').hidden = view.typing;
  }
  updateReplyKeyboard(view);
}

// updateReplyKeyboard applies Telegram's rule: the last bot message that
// carries a reply keyboard (or removes it) decides what is shown.
function updateReplyKeyboard(view) {
  let current = null;
  let lastOwnId = 0;
  for (const id of [...view.messages.keys()].sort((a, b) => a - b)) {
    const m = view.messages.get(id);
    if (!m.from_bot) {
      if (m.from?.id === view.viewerId) lastOwnId = id;
      continue;
    }
    const rm = m.reply_markup;
    if (!rm) continue;
    if (Array.isArray(rm.keyboard)) current = { markup: rm, messageId: id };
    else if (rm.remove_keyboard) current = null;
  }
  const prev = state.keyboard;
  if (current && prev && prev.messageId === current.messageId) {
    current.hidden = prev.hidden;
  } else if (current) {
    // A one-time keyboard already used stays folded after a reload too.
    current.hidden = !!current.markup.one_time_keyboard && lastOwnId > current.messageId;
  }
  const sig = current ? `${current.messageId}:${current.hidden}:${JSON.stringify(current.markup)}` : '';
  if (state.keyboardSig === sig) return;
  state.keyboardSig = sig;
  state.keyboard = current;
  renderReplyKeyboard();
}

function renderReplyKeyboard() {
  const box = $('reply-keyboard');
  const toggle = $('keyboard-toggle');
  const k = state.keyboard;
  const input = $('message-input');
  input.placeholder = (k && k.markup.input_field_placeholder) || 'Сообщение';
  toggle.hidden = !k;
  box.replaceChildren();
  box.hidden = !k || k.hidden;
  if (!k) return;
  box.dataset.messageId = k.messageId;
  for (const row of k.markup.keyboard) {
    const r = el('div', { class: 'kb-row' });
    for (const raw of row || []) {
      const b = typeof raw === 'string' ? { text: raw } : raw;
      const btn = el('button', {
        type: 'button', class: 'kb-button reply', 'data-testid': 'reply-button',
        'data-request-contact': b.request_contact ? 'true' : undefined,
        'data-web-app': b.web_app ? 'true' : undefined,
      }, b.request_contact ? `📱 ${b.text}` : b.text);
      btn.addEventListener('click', () => pressReplyButton(b));
      r.append(btn);
    }
    box.append(r);
  }
}

async function pressReplyButton(b) {
  const u = state.user;
  if (!u) return;
  if (state.keyboard?.markup.one_time_keyboard) {
    state.keyboard.hidden = true;
    state.keyboardSig = null;
    updateReplyKeyboard(state.chat);
  }
  try {
    if (b.request_contact) {
      await tg('/contact', { method: 'POST', body: { user_id: u.id } });
    } else if (b.web_app) {
      openMiniApp(b.web_app.url, b.text, u.id);
    } else if (b.request_location) {
      await sendLocation();
    } else {
      await tg('/send', { method: 'POST', body: { user_id: u.id, text: b.text } });
    }
    markUnblocked();
  } catch (e) {
    reportError(e, 'кнопка клавиатуры');
  }
}

async function sendStart(userId) {
  if (!state.user || state.user.id !== userId) return;
  try {
    await tg('/send', { method: 'POST', body: { user_id: userId, text: '/start' } });
    markUnblocked();
  } catch (e) {
    reportError(e, 'запуск бота');
  }
}

function markUnblocked() {
  // The emulator unblocks a user who writes, as Telegram's "Restart" does.
  if (state.userRecord?.blocked) {
    state.userRecord.blocked = false;
    renderBlocked();
  }
}

async function sendMessage() {
  const input = $('message-input');
  const text = input.value;
  if (!state.user || !text.trim()) return;
  const editing = state.editing;
  input.value = '';
  autoGrow(input);
  try {
    if (editing) {
      stopEditing();
      await tg('/edit', { method: 'POST', body: { user_id: state.user.id, message_id: editing, text } });
    } else {
      await tg('/send', { method: 'POST', body: { user_id: state.user.id, text } });
      markUnblocked();
    }
  } catch (e) {
    input.value = text;
    reportError(e, 'отправка');
  }
}

function startEditing(m) {
  state.editing = m.message_id;
  $('edit-bar').hidden = false;
  $('edit-bar-text').textContent = (m.text || '').slice(0, 80);
  const input = $('message-input');
  input.value = m.text || '';
  autoGrow(input);
  input.focus();
}

function stopEditing() {
  state.editing = null;
  $('edit-bar').hidden = true;
}

function autoGrow(t) {
  t.style.height = 'auto';
  t.style.height = `${Math.min(t.scrollHeight, 140)}px`;
}

function bindComposer(input, send) {
  const isSend = (e) => e.key === 'Enter' && !e.shiftKey && !e.isComposing;
  input.addEventListener('keydown', (e) => {
    if (isSend(e)) {
      e.preventDefault();
      send();
    }
  });
  // Keyboards that deliver Enter as a separate character event (DevTools'
  // input emulation, some IMEs) would otherwise leave a newline behind.
  input.addEventListener('keypress', (e) => { if (isSend(e)) e.preventDefault(); });
  input.addEventListener('input', () => autoGrow(input));
}

// ---------------------------------------------------------------------------
// Attachments: non-text messages go in as injected updates, so the bot sees
// exactly what Telegram would deliver.

function sender() {
  const u = state.userRecord || state.user;
  const s = { id: state.user.id, is_bot: false, first_name: u.first_name || state.user.first_name };
  if (u.last_name) s.last_name = u.last_name;
  if (u.username) s.username = u.username;
  s.language_code = u.language_code || 'ru';
  return s;
}

function canvasBlob(width, height, draw, type = 'image/png') {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  draw(c.getContext('2d'), width, height);
  return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('canvas.toBlob failed'))), type));
}

function drawSticker(g, w, h) {
  g.fillStyle = '#ffd166';
  g.beginPath();
  g.arc(w / 2, h / 2, w * 0.45, 0, Math.PI * 2);
  g.fill();
  g.fillStyle = '#073b4c';
  for (const x of [0.36, 0.64]) {
    g.beginPath();
    g.arc(w * x, h * 0.4, w * 0.05, 0, Math.PI * 2);
    g.fill();
  }
  g.lineWidth = w * 0.04;
  g.strokeStyle = '#073b4c';
  g.beginPath();
  g.arc(w / 2, h * 0.52, w * 0.22, 0.15 * Math.PI, 0.85 * Math.PI);
  g.stroke();
}

async function uploadFile(blob, name) {
  return tg(`/files?name=${encodeURIComponent(name)}`, { method: 'POST', body: blob, headers: { 'Content-Type': blob.type } });
}

async function injectMessage(fields) {
  await tg('/updates', { method: 'POST', body: { message: { from: sender(), ...fields } } });
  markUnblocked();
}

async function sendLocation() {
  await injectMessage({ location: { latitude: 55.751244, longitude: 37.618423 } });
}

// Media with real bytes go through the control API's send_media, as a
// Telegram client uploads them: the bot downloads them with getFile and
// Gemini reads them. The demo files (demo/media.json) are registered with
// the Gemini emulator by the sandbox; for a file of one's own the page
// registers what the person typed as its content.

let demoMedia = null;

async function loadDemoMedia() {
  if (!demoMedia) {
    const resp = await fetch('demo/media.json', { cache: 'no-store' });
    if (!resp.ok) throw new Error(`demo/media.json: ${resp.status}`);
    demoMedia = await resp.json();
  }
  return demoMedia;
}

function base64Of(buf) {
  const bytes = new Uint8Array(buf);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

async function sendMedia({ kind, data, fileName, mimeType, duration, caption }) {
  const body = { user_id: state.user.id, kind, data: base64Of(data) };
  if (fileName) body.file_name = fileName;
  if (mimeType) body.mime_type = mimeType;
  if (duration) body.duration = duration;
  if (caption) body.caption = caption;
  const sent = await tg('/send_media', { method: 'POST', body });
  markUnblocked();
  return sent;
}

async function sendDemoMedia(testid) {
  const f = (await loadDemoMedia()).find((d) => d.testid === testid);
  if (!f) throw new Error(`no demo file for ${testid}`);
  const resp = await fetch(f.path);
  if (!resp.ok) throw new Error(`${f.path}: ${resp.status}`);
  await sendMedia({
    kind: f.kind, data: await resp.arrayBuffer(), fileName: f.file_name, mimeType: f.mime_type,
    duration: f.duration, caption: f.caption,
  });
}

// registerContent tells the Gemini emulator what a file holds (by the
// SHA-256 of its bytes, as the emulator keys it).
async function registerContent(data, text) {
  if (!state.ep.gemini_control || !text.trim()) return;
  const body = { text };
  if (crypto.subtle) {
    body.sha256 = [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map((b) => b.toString(16).padStart(2, '0')).join('');
  } else {
    body.data = base64Of(data);
  }
  await api(state.ep.gemini_control, '/media', { method: 'POST', body });
}

// mediaKind picks how a chosen file goes: pictures Telegram takes as
// photos, sound as a voice note (Ogg) or audio, anything else a document.
function mediaKind(file) {
  const t = (file.type || '').toLowerCase();
  if (t === 'image/jpeg' || t === 'image/png') return 'photo';
  if (t === 'audio/ogg' || t === 'audio/opus') return 'voice';
  if (t.startsWith('audio/')) return 'audio';
  return 'document';
}

async function sendChosenFile() {
  const input = $('attach-file-input');
  const file = input.files?.[0];
  input.value = '';
  if (!file || !state.user) return;
  const data = await file.arrayBuffer();
  const content = $('attach-content').value;
  await registerContent(data, content);
  const kind = mediaKind(file);
  let duration = 0;
  if (kind === 'voice' || kind === 'audio') duration = await audioDuration(file);
  await sendMedia({ kind, data, fileName: file.name, mimeType: file.type || undefined, duration });
  $('attach-content').value = '';
}

// audioDuration reads a sound file's length in whole seconds (0 if the
// browser cannot tell).
function audioDuration(file) {
  return new Promise((resolve) => {
    const a = document.createElement('audio');
    const url = URL.createObjectURL(file);
    const done = (v) => { URL.revokeObjectURL(url); resolve(Number.isFinite(v) ? Math.max(1, Math.round(v)) : 0); };
    a.preload = 'metadata';
    a.onloadedmetadata = () => done(a.duration);
    a.onerror = () => done(0);
    a.src = url;
  });
}

const ATTACHMENTS = {
  'attach-photo': () => sendDemoMedia('attach-photo'),
  'attach-document': () => sendDemoMedia('attach-document'),
  'attach-file': async () => $('attach-file-input').click(),
  'attach-sticker': async () => {
    const f = await uploadFile(await canvasBlob(512, 512, drawSticker), 'sticker.png');
    await injectMessage({
      sticker: {
        file_id: f.file_id, file_unique_id: f.file_unique_id, type: 'regular', width: 512, height: 512,
        is_animated: false, is_video: false, emoji: '🙂', file_size: f.file_size,
      },
    });
  },
  'attach-location': sendLocation,
  'attach-voice': () => sendDemoMedia('attach-voice'),
  'attach-contact': async () => {
    await tg('/contact', { method: 'POST', body: { user_id: state.user.id } });
    markUnblocked();
  },
  // Someone else's card: the bot must not take it as the sender's phone.
  'attach-foreign-contact': async () => {
    const other = state.partners.find((p) => p.phone !== state.user.phone);
    const phone = other ? other.phone : '79990000000';
    const owner = other ? other.id : 0;
    await tg('/contact', { method: 'POST', body: { user_id: state.user.id, phone, contact_user_id: owner } });
    markUnblocked();
  },
};

// ---------------------------------------------------------------------------
// Choosing the simulated user

// The Auth columns are found by their headers in row 1, wherever they stand
// (the spreadsheet contract); matching ignores case and surrounding spaces.
const AUTH_DEFAULTS = { partner_code: 'Код партнера', phone: 'Телефон', full_name: 'ФИО', status: 'STATUS', telegram_id: 'Telegram ID' };

function authColumns(header) {
  const norm = (v) => String(v ?? '').trim().toLowerCase();
  const cols = {};
  for (const [field, def] of Object.entries(AUTH_DEFAULTS)) {
    const want = norm(state.ep.auth_headers?.[field] || def);
    const at = (header || []).map(norm).reduce((acc, h, i) => (h === want ? [...acc, i] : acc), []);
    cols[field] = at.length === 1 ? at[0] : -1; // missing or ambiguous: unusable, as for the bot
  }
  return cols;
}

function partnerFromRow(row, n, cols) {
  const at = (field) => (cols[field] >= 0 ? row[cols[field]] : undefined);
  const phone = normalizePhone(at('phone'));
  if (!phone) return null; // a cell nobody can log in with
  const fullName = String(at('full_name') ?? '').trim();
  const parts = fullName.split(/\s+/).filter(Boolean);
  // Russian order in the sheet: Фамилия Имя Отчество.
  const code = String(at('partner_code') ?? '').trim();
  const first = parts.length >= 2 ? parts[1] : (parts[0] || `Партнёр ${code || n}`);
  const last = parts.length >= 2 ? parts[0] : '';
  const tid = parseTelegramID(at('telegram_id'));
  const status = String(at('status') ?? '').trim();
  return {
    id: tid || userIdForPhone(phone), phone, code, full_name: fullName,
    first_name: first, last_name: last, status, row: n,
    authorized: status === 'authorized' || status === 'avtorizovan',
  };
}

export function partnersFromSnapshot(snap) {
  const sheet = snap?.sheets?.find((s) => s.title === state.ep.sheet_titles.auth);
  if (!sheet) return [];
  const rows = sheet.rows || [];
  const cols = authColumns(rows[0]);
  return rows.slice(1).map((r, i) => partnerFromRow(r || [], i + 2, cols)).filter(Boolean);
}

// renderPicker redraws the partner list only when it changed: it is
// refreshed with the sheet every 2 s while open, and an option replaced
// under the pointer would swallow a click.
function renderPicker() {
  const custom = load(STORE_CUSTOM, []);
  const sig = JSON.stringify([state.partners, custom, state.user?.id]);
  if (state.pickerSig === sig) return;
  state.pickerSig = sig;
  const list = $('partner-options');
  list.replaceChildren();
  if (!state.partners.length) {
    list.append(el('div', { class: 'empty small', text: `Лист «${state.ep.sheet_titles.auth}» пуст или недоступен.` }));
  }
  for (const p of state.partners) list.append(pickerOption(p, 'partner-option'));
  $('custom-users-section').hidden = custom.length === 0;
  $('custom-user-options').replaceChildren(...custom.map((u) => pickerOption(u, 'custom-user-option')));
}

function pickerOption(p, testid) {
  const current = state.user && state.user.id === p.id;
  return el('button', {
    type: 'button', class: `partner${current ? ' current' : ''}`, 'data-testid': testid,
    'data-phone': p.phone, 'data-code': p.code || undefined, 'data-user-id': p.id,
    onclick: () => { closePicker(); selectUser(p); },
  },
  el('span', { class: 'avatar small', text: initials(p.full_name || p.first_name) }),
  el('span', { class: 'partner-text' },
    el('span', { class: 'partner-name', text: p.full_name || [p.first_name, p.last_name].filter(Boolean).join(' ') }),
    el('span', { class: 'partner-sub', text: [p.code, displayPhone(p.phone), `id ${p.id}`].filter(Boolean).join(' · ') })),
  p.code ? el('span', { class: `status-badge${p.authorized ? ' ok' : ''}`, text: p.authorized ? 'авторизован' : (p.status || 'не авторизован') }) : null);
}

async function openPicker() {
  const picker = $('partner-list');
  picker.hidden = false;
  $('partner-picker').setAttribute('aria-expanded', 'true');
  renderPicker();
  // The sheet may have changed (the bot writes Telegram IDs on login).
  try {
    await refreshSpreadsheet();
    if (!picker.hidden) renderPicker();
  } catch (e) {
    reportError(e, 'лист Auth');
  }
}

function closePicker() {
  $('partner-list').hidden = true;
  $('partner-picker').setAttribute('aria-expanded', 'false');
}

async function createCustomUser(e) {
  e.preventDefault();
  const name = $('new-user-name').value.trim();
  const phone = normalizePhone($('new-user-phone').value);
  const err = $('new-user-error');
  if (!name || !phone) {
    err.hidden = false;
    err.textContent = !name ? 'Введите имя.' : 'Телефон не похож на номер: нужны 10–15 цифр.';
    return;
  }
  err.hidden = true;
  const [first, ...rest] = name.split(/\s+/);
  const u = { id: userIdForPhone(phone), phone, first_name: first, last_name: rest.join(' '), full_name: name, code: '' };
  const custom = load(STORE_CUSTOM, []).filter((c) => c.id !== u.id);
  custom.unshift(u);
  store(STORE_CUSTOM, custom.slice(0, 20));
  $('new-user-form').reset();
  closePicker();
  await selectUser(u);
}

async function selectUser(p) {
  const u = {
    id: p.id, phone: p.phone, first_name: p.first_name, last_name: p.last_name || '',
    full_name: p.full_name || '', code: p.code || '',
  };
  try {
    const rec = await tg('/users', {
      method: 'POST',
      body: { id: u.id, first_name: u.first_name, last_name: u.last_name, phone: u.phone, language_code: 'ru' },
    });
    state.userRecord = rec;
  } catch (e) {
    reportError(e, 'создание пользователя');
    return;
  }
  state.user = u;
  store(STORE_USER, u);
  stopEditing();
  state.keyboard = null;
  state.keyboardSig = null;
  renderReplyKeyboard();
  renderCurrentUser();
  state.chat?.stop();
  state.chat = new ChatView({
    chatId: u.id, container: $('chat-transcript'), isGroup: false, viewerId: u.id, onChange: onChatChange,
    onMissing: () => selectUser(p),
  });
  state.chat.start();
  for (const id of ['message-input', 'send-button', 'attach-button', 'block-toggle']) $(id).disabled = false;
  renderBlocked();
  refreshMenuButton();
  $('message-input').focus();
}

function renderCurrentUser() {
  const u = state.user;
  $('current-user').textContent = u ? ([u.first_name, u.last_name].filter(Boolean).join(' ') || String(u.id)) : 'Выберите пользователя';
  $('current-user-sub').textContent = u ? [u.code, displayPhone(u.phone), `id ${u.id}`].filter(Boolean).join(' · ') : '';
  $('current-user-avatar').textContent = u ? initials(u.full_name || u.first_name) : '?';
}

function renderBlocked() {
  const blocked = !!state.userRecord?.blocked;
  $('blocked-banner').hidden = !blocked;
  const b = $('block-toggle');
  b.textContent = blocked ? 'Разблокировать' : 'Заблокировать бота';
  b.dataset.blocked = blocked ? 'true' : 'false';
}

async function toggleBlock() {
  if (!state.user) return;
  const blocked = !state.userRecord?.blocked;
  try {
    await tg('/block', { method: 'POST', body: { user_id: state.user.id, blocked } });
    state.userRecord = { ...(state.userRecord || {}), blocked };
    renderBlocked();
  } catch (e) {
    reportError(e, 'блокировка');
  }
}

async function refreshUserRecord() {
  if (!state.user) return;
  const users = await tg('/users');
  const rec = (users || []).find((x) => x.id === state.user.id);
  if (rec) {
    state.userRecord = rec;
    renderBlocked();
  }
}

// ---------------------------------------------------------------------------
// Menu button and commands

async function refreshMenuButton() {
  if (!state.user) return;
  let mb;
  let commands = [];
  try {
    mb = await tg('/menu_button');
    commands = await tg('/commands');
  } catch (e) {
    if (e.status) reportError(e, 'кнопка меню');
    return;
  }
  const b = mb?.chats?.[String(state.user.id)] || mb?.default || { type: 'default' };
  const set = pickCommands(commands || []);
  const btn = $('menu-button');
  const sig = JSON.stringify([b, set]);
  if (state.menuButton === sig) return;
  state.menuButton = sig;
  if (b.type === 'web_app' && b.web_app?.url) {
    btn.hidden = false;
    btn.textContent = b.text || 'Меню';
    btn.dataset.kind = 'web_app';
    btn.onclick = () => openMiniApp(b.web_app.url, b.text, state.user.id);
  } else if (set.length) {
    btn.hidden = false;
    btn.textContent = 'Меню';
    btn.dataset.kind = 'commands';
    btn.onclick = () => toggleCommands(set);
  } else {
    btn.hidden = true;
    btn.onclick = null;
  }
}

// pickCommands chooses the list a private chat shows: the most specific
// scope that applies, Russian before the language-neutral list.
function pickCommands(sets) {
  const uid = state.user.id;
  const rank = (s) => {
    const sc = s.scope || { type: 'default' };
    let r = -1;
    if (sc.type === 'chat' && Number(sc.chat_id) === uid) r = 30;
    else if (sc.type === 'all_private_chats') r = 20;
    else if (sc.type === 'default') r = 10;
    if (r < 0) return -1;
    if (s.language_code === 'ru') return r + 2;
    if (!s.language_code) return r + 1;
    return -1;
  };
  let best = null;
  for (const s of sets) if (rank(s) >= 0 && (!best || rank(s) > rank(best))) best = s;
  return Array.isArray(best?.commands) ? best.commands : [];
}

function toggleCommands(list) {
  const menu = $('commands-menu');
  if (!menu.hidden) { menu.hidden = true; return; }
  menu.replaceChildren(...list.map((c) => el('button', {
    type: 'button', 'data-testid': 'command-option', 'data-command': c.command,
    onclick: async () => {
      menu.hidden = true;
      try {
        await tg('/send', { method: 'POST', body: { user_id: state.user.id, text: `/${c.command}` } });
      } catch (e) {
        reportError(e, 'команда');
      }
    },
  }, el('b', { text: `/${c.command}` }), ' ', el('span', { class: 'muted', text: c.description || '' }))));
  menu.hidden = false;
}

// ---------------------------------------------------------------------------
// Mini App: a phone-sized frame with Telegram's web bridge (the
// postMessage protocol telegram-web-app.js speaks inside an iframe).

const THEME = {
  bg_color: '#ffffff', text_color: '#000000', hint_color: '#999999', link_color: '#2481cc',
  button_color: '#2481cc', button_text_color: '#ffffff', secondary_bg_color: '#efeff3',
  header_bg_color: '#ffffff', accent_text_color: '#2481cc', section_bg_color: '#ffffff',
  section_header_text_color: '#6d6d72', subtitle_text_color: '#999999', destructive_text_color: '#ff3b30',
};

const miniApp = { origin: null };

async function openMiniApp(url, title, userId) {
  const base = safeLink(String(url || '').split('#')[0]);
  if (!base) {
    toast(`Mini App: недопустимый адрес ${url}`, 'error');
    return;
  }
  let initData;
  try {
    initData = (await tg(`/initdata?user_id=${encodeURIComponent(userId)}`)).init_data;
  } catch (e) {
    reportError(e, 'initData');
    return;
  }
  const src = `${base}#tgWebAppData=${encodeURIComponent(initData)}&tgWebAppVersion=7.0&tgWebAppThemeParams=${encodeURIComponent(JSON.stringify(THEME))}`;
  miniApp.origin = new URL(base).origin;
  $('miniapp-title').textContent = title || state.bot?.first_name || 'Mini App';
  $('miniapp-main-button').hidden = true;
  $('miniapp-back-button').hidden = true;
  $('miniapp-popup').hidden = true;
  const frame = $('miniapp-frame');
  frame.src = src;
  $('miniapp-overlay').hidden = false;
}

function closeMiniApp() {
  $('miniapp-overlay').hidden = true;
  $('miniapp-frame').src = 'about:blank';
  miniApp.origin = null;
}

function postToMiniApp(eventType, eventData) {
  const w = $('miniapp-frame').contentWindow;
  if (w && miniApp.origin) w.postMessage(JSON.stringify({ eventType, eventData }), miniApp.origin);
}

function viewport() {
  const h = $('miniapp-frame').clientHeight;
  return { height: h, is_state_stable: true, is_expanded: true };
}

function onMiniAppMessage(e) {
  if (e.source !== $('miniapp-frame').contentWindow || !miniApp.origin) return;
  let msg = e.data;
  if (typeof msg === 'string') {
    try { msg = JSON.parse(msg); } catch { return; }
  }
  if (!msg || typeof msg.eventType !== 'string') return;
  let data = msg.eventData;
  if (typeof data === 'string') {
    try { data = JSON.parse(data); } catch { /* plain string payloads */ }
  }
  data = data || {};
  const main = $('miniapp-main-button');
  switch (msg.eventType) {
    case 'web_app_setup_main_button':
      main.hidden = !data.is_visible;
      main.textContent = data.text || '';
      main.disabled = data.is_active === false;
      main.classList.toggle('progress', !!data.is_progress_visible);
      main.style.background = data.color || '';
      main.style.color = data.text_color || '';
      break;
    case 'web_app_setup_back_button':
      $('miniapp-back-button').hidden = !data.is_visible;
      break;
    case 'web_app_close':
      closeMiniApp();
      break;
    case 'web_app_open_link':
    case 'web_app_open_tg_link': {
      const href = safeLink(data.url || (data.path_full ? `https://t.me${data.path_full}` : ''));
      if (href) window.open(href, '_blank', 'noopener');
      break;
    }
    case 'web_app_request_theme':
      postToMiniApp('theme_changed', { theme_params: THEME });
      break;
    case 'web_app_request_viewport':
      postToMiniApp('viewport_changed', viewport());
      break;
    case 'web_app_open_popup':
      showMiniAppPopup(data);
      break;
    case 'web_app_data_send':
      toast('sendData работает только из кнопки обычной клавиатуры; здесь Mini App открыт иначе.', 'error');
      break;
    default:
      break; // ready, expand, haptics, colours: nothing to show
  }
}

function showMiniAppPopup(data) {
  const box = $('miniapp-popup');
  $('miniapp-popup-title').textContent = data.title || '';
  $('miniapp-popup-message').textContent = data.message || '';
  const buttons = (data.buttons && data.buttons.length ? data.buttons : [{ id: '', type: 'close' }]).map((b) => el('button', {
    type: 'button', class: b.type === 'destructive' ? 'destructive' : '', 'data-testid': 'miniapp-popup-button',
    onclick: () => { box.hidden = true; postToMiniApp('popup_closed', { button_id: b.id || '' }); },
  }, b.text || { ok: 'OK', close: 'Закрыть', cancel: 'Отмена' }[b.type] || 'OK'));
  $('miniapp-popup-buttons').replaceChildren(...buttons);
  box.hidden = false;
}

// ---------------------------------------------------------------------------
// The operators' group

function groupDecorations() {
  return {
    signature: (m) => `${state.groupReplyTo === m.message_id ? 'target' : ''}|${inTopic(m) ? topicName(m.message_thread_id) : ''}`,
    message: (m, wrap) => {
      wrap.hidden = !inSelectedTopic(m);
      if (inTopic(m)) {
        wrap.dataset.threadId = m.message_thread_id;
        const name = topicName(m.message_thread_id);
        wrap.querySelector('.bubble').prepend(el('div', { class: 'topic-chip', 'data-testid': 'message-topic', text: `# ${name}` }));
        if (SERVICE_KINDS.has(m.kind)) wrap.querySelector('.placeholder')?.append(` «${name}»`);
      }
      if (m.deleted || SERVICE_KINDS.has(m.kind)) return;
      if (state.groupReplyTo === m.message_id) wrap.classList.add('reply-target-msg');
      wrap.append(el('button', {
        type: 'button', class: 'reply-link', 'data-testid': 'group-reply-button', 'data-message-id': m.message_id,
        onclick: () => setGroupReplyTarget(m.message_id),
      }, '↩ Ответить'));
    },
  };
}

function setGroupReplyTarget(id) {
  const prev = state.groupReplyTo;
  state.groupReplyTo = id;
  const view = state.group;
  for (const mid of [prev, id]) {
    const m = mid && view?.messages.get(mid);
    if (m) view.renderMessage(m);
  }
  const box = $('group-reply-target');
  box.hidden = !id;
  box.dataset.messageId = id || '';
  if (id && view) {
    const m = view.messages.get(id);
    $('group-reply-target-text').textContent = (m?.text || m?.caption || `#${id}`).replace(/\s+/g, ' ').slice(0, 100);
    $('group-input').focus();
  }
}

let groupSeen = 0;

function onGroupChange(view, change = {}) {
  $('group-typing').hidden = !view.typing;
  if (state.forum && change.added) refreshTopics();
  renderTopics();
  const unseen = [...view.messages.values()].filter((m) => m.from_bot && m.message_id > groupSeen && !m.deleted).length;
  const badge = $('group-badge');
  badge.hidden = unseen === 0;
  badge.textContent = String(unseen);
  document.title = unseen ? `(${unseen}) MarketingBot — песочница` : 'MarketingBot — песочница';
}

function markGroupSeen() {
  const view = state.group;
  if (!view || !view.lastId || view.lastId <= groupSeen) return;
  groupSeen = view.lastId;
  store(STORE_GROUP_SEEN, { chat: state.ep.operators_chat_id, id: groupSeen });
  onGroupChange(view);
}

async function sendGroupMessage() {
  const input = $('group-input');
  const text = input.value;
  if (!text.trim()) return;
  const body = { chat_id: state.ep.operators_chat_id, user_id: state.ep.operator.id, text };
  if (state.groupReplyTo) body.reply_to_message_id = state.groupReplyTo;
  if (state.forum && state.groupThread) body.message_thread_id = state.groupThread;
  input.value = '';
  autoGrow(input);
  try {
    await tg('/group_send', { method: 'POST', body });
    setGroupReplyTarget(null);
    markGroupSeen();
  } catch (e) {
    input.value = text;
    reportError(e, 'сообщение в группу');
  }
}

// startGroup creates the operator and the group (both idempotent) and shows
// the group. fresh forgets what was seen: after an emulator restart the
// message ids start again.
async function startGroup(fresh = false) {
  const ep = state.ep;
  if (fresh) {
    store(STORE_GROUP_SEEN, undefined);
    setGroupReplyTarget(null);
    state.topics = [];
    selectTopic(0);
  }
  const op = ep.operator;
  $('operator-name').textContent = [op.first_name, op.last_name].filter(Boolean).join(' ') || `id ${op.id}`;
  for (;;) {
    try {
      await tg('/users', {
        method: 'POST',
        body: { id: op.id, first_name: op.first_name || 'Оператор', last_name: op.last_name || '', username: op.username || '', language_code: 'ru' },
      });
      const chat = await tg('/groups', { method: 'POST', body: { id: ep.operators_chat_id, title: 'Операторы', is_forum: !!ep.operators_forum } });
      $('group-title').textContent = chat.title || 'Операторы';
      state.forum = !!chat.is_forum;
      setOnline('group-setup', true);
      break;
    } catch (e) {
      setOnline('group-setup', false, 'Не удалось создать группу операторов в эмуляторе Telegram');
      await sleep(3000);
    }
  }
  const seen = load(STORE_GROUP_SEEN, null);
  groupSeen = seen && seen.chat === ep.operators_chat_id ? seen.id : -1;
  state.group = new ChatView({
    chatId: ep.operators_chat_id, container: $('group-transcript'), isGroup: true, viewerId: op.id,
    onChange: (view, change) => {
      if (view !== state.group) return;
      // On a first visit everything already there counts as seen.
      if (groupSeen < 0) {
        groupSeen = view.lastId;
        store(STORE_GROUP_SEEN, { chat: ep.operators_chat_id, id: groupSeen });
      }
      onGroupChange(view, change);
    },
    decorate: groupDecorations(),
    onMissing: () => startGroup(true),
  });
  state.group.start();
  if (state.forum) topicsLoop(state.group);
  renderTopics();
}

// ---------------------------------------------------------------------------
// Forum topics: when the operators' group is a forum, the bot keeps a
// topic per partner. The column lists the topics above the transcript
// («Все сообщения» shows every message with its topic's name); choosing a
// topic shows its messages only, and what the operator writes goes into
// it (message_thread_id), which the bot relays to the partner.

function inTopic(m) {
  return state.forum && m.message_thread_id > 1;
}

function inSelectedTopic(m) {
  return !state.groupThread || (m && m.message_thread_id === state.groupThread);
}

function topicName(thread) {
  return state.topics.find((t) => t.message_thread_id === thread)?.name || `тема ${thread}`;
}

let topicsRefreshing = null;
function refreshTopics() {
  if (!topicsRefreshing) {
    topicsRefreshing = tg(`/chats/${state.ep.operators_chat_id}/topics`)
      .then((list) => { state.topics = list || []; renderTopics(); })
      .catch((e) => { if (e.status && e.status !== 404) reportError(e, 'темы'); })
      .finally(() => { topicsRefreshing = null; });
  }
  return topicsRefreshing;
}

// topicsLoop re-reads the topics every 2 s: a topic closed, reopened or
// renamed changes no message the transcript shows.
async function topicsLoop(view) {
  while (!view.abort.signal.aborted) {
    await refreshTopics();
    await sleep(2000, view.abort.signal);
  }
}

function renderTopics() {
  const box = $('topic-list');
  box.hidden = !state.forum;
  $('group-transcript').classList.toggle('in-topic', !!state.groupThread);
  if (!state.forum) return;
  const view = state.group;
  const unseen = (thread) => (view ? [...view.messages.values()].filter((m) => m.from_bot && !m.deleted
    && m.message_id > groupSeen && (!thread || m.message_thread_id === thread)).length : 0);
  const items = [{ message_thread_id: 0, name: 'Все сообщения' }, ...state.topics.filter((t) => !t.deleted)];
  const counts = items.map((t) => unseen(t.message_thread_id));
  const sig = JSON.stringify([items, counts, state.groupThread]);
  if (sig === state.topicsSig) return;
  state.topicsSig = sig;
  // Buttons are updated in place: one rebuilt between a press and its
  // release (the press itself marks the group seen) would lose the click.
  const keep = new Map([...box.children].map((b) => [Number(b.dataset.threadId), b]));
  items.forEach((t, i) => {
    const thread = t.message_thread_id;
    const b = keep.get(thread) || topicButton(thread);
    keep.delete(thread);
    if (box.children[i] !== b) box.insertBefore(b, box.children[i] || null);
    const on = thread === state.groupThread;
    b.className = `topic${on ? ' active' : ''}${t.closed ? ' closed' : ''}`;
    b.dataset.closed = t.closed ? 'true' : 'false';
    b.setAttribute('aria-selected', on ? 'true' : 'false');
    b.title = t.closed ? `${t.name} — тема закрыта` : t.name;
    b.querySelector('.topic-name').textContent = t.name;
    b.querySelector('.topic-lock').hidden = !t.closed;
    const badge = b.querySelector('.badge');
    badge.hidden = !(counts[i] && thread);
    badge.textContent = String(counts[i]);
    if (thread) b.querySelector('.topic-icon').style.background = `#${(t.icon_color || 0x6fb9f0).toString(16).padStart(6, '0')}`;
  });
  for (const b of keep.values()) b.remove();
}

function topicButton(thread) {
  return el('button', {
    type: 'button', role: 'tab', 'data-testid': 'topic-item', 'data-thread-id': thread,
    onclick: () => selectTopic(thread),
  },
  thread ? el('span', { class: 'topic-icon' }) : null,
  el('span', { class: 'topic-name', 'data-testid': 'topic-name' }),
  el('span', { class: 'topic-lock', text: '🔒', hidden: true }),
  el('span', { class: 'badge', 'data-testid': 'topic-badge', hidden: true }));
}

function selectTopic(thread) {
  state.groupThread = thread;
  setGroupReplyTarget(null);
  const view = state.group;
  if (view) {
    for (const [id, n] of view.nodes) n.node.hidden = !inSelectedTopic(view.messages.get(id));
    view.container.scrollTop = view.container.scrollHeight;
  }
  $('group-input').placeholder = thread ? `Сообщение в тему «${topicName(thread)}»` : 'Сообщение в группу операторов';
  renderTopics();
}

// ---------------------------------------------------------------------------
// The spreadsheet

const MAX_ROWS = 2000;
const LONG_CELL = 60;

const sheetView = {
  active: load(STORE_SHEET, null),
  rendered: null,     // {title, rows, cols, cells: string[][], formulas}
  previous: new Map(), // title -> string[][] of the last snapshot, to mark changes
  expanded: new Set(), // "title!A1" of cells a person opened
  tabsSig: '',
};

function columnName(i) {
  let s = '';
  for (i += 1; i > 0; i = Math.floor((i - 1) / 26)) s = String.fromCharCode(65 + ((i - 1) % 26)) + s;
  return s;
}

function cellText(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  return String(v);
}

function sheetGrid(sheet) {
  return (sheet.rows || []).map((r) => (r || []).map(cellText));
}

async function refreshSpreadsheet() {
  const ep = state.ep;
  const snap = await api(ep.sheets_control, `/spreadsheets/${encodeURIComponent(ep.spreadsheet_id)}`);
  state.spreadsheet = snap;
  state.partners = partnersFromSnapshot(snap);
  return snap;
}

function renderSheetTabs(snap) {
  const titles = snap.sheets.map((s) => s.title);
  const sig = titles.join('\u0000');
  if (!titles.includes(sheetView.active)) sheetView.active = titles.includes(state.ep.sheet_titles.auth) ? state.ep.sheet_titles.auth : titles[0];
  const box = $('sheet-tabs');
  if (sig !== sheetView.tabsSig) {
    sheetView.tabsSig = sig;
    box.replaceChildren(...titles.map((t) => el('button', {
      type: 'button', class: 'tab', 'data-testid': 'sheet-tab', 'data-sheet': t, role: 'tab',
      onclick: () => showSheet(t),
    }, t)));
  }
  for (const b of box.children) {
    const on = b.dataset.sheet === sheetView.active && rightPane === 'sheet';
    b.classList.toggle('active', on);
    b.setAttribute('aria-selected', on ? 'true' : 'false');
  }
}

function markChangedTabs(snap) {
  for (const s of snap.sheets) {
    const grid = sheetGrid(s);
    const prev = sheetView.previous.get(s.title);
    if (prev && s.title !== sheetView.active && JSON.stringify(prev) !== JSON.stringify(grid)) {
      $('sheet-tabs').querySelector(`[data-sheet="${CSS.escape(s.title)}"]`)?.classList.add('dirty');
    }
    sheetView.previous.set(s.title, grid);
  }
}

function showSheet(title) {
  sheetView.active = title;
  store(STORE_SHEET, title);
  setRightPane('sheet');
  $('sheet-tabs').querySelector(`[data-sheet="${CSS.escape(title)}"]`)?.classList.remove('dirty');
  if (state.spreadsheet) renderActiveSheet(state.spreadsheet, false);
  sheetTick();
}

function renderActiveSheet(snap, markChanges) {
  const sheet = snap.sheets.find((s) => s.title === sheetView.active);
  const view = $('sheet-view');
  const ep = state.ep;
  $('xlsx-link').href = `${ep.sheets_control}/spreadsheets/${encodeURIComponent(ep.spreadsheet_id)}/xlsx`;
  $('sheet-updated').textContent = `обновлено ${new Date().toLocaleTimeString('ru-RU')}`;
  if (!sheet) return;
  const grid = sheetGrid(sheet);
  const rows = Math.min(grid.length, MAX_ROWS);
  const cols = Math.max(1, ...grid.slice(0, rows).map((r) => r.length));
  $('sheet-name').textContent = sheet.title;
  $('sheet-info').textContent = grid.length > MAX_ROWS
    ? `показаны ${MAX_ROWS} из ${grid.length} строк — всё в .xlsx`
    : `${grid.length} стр. × ${cols} кол. (сетка ${sheet.row_count}×${sheet.column_count})`;
  const r = sheetView.rendered;
  const formulas = sheet.formulas || {};
  if (!r || r.title !== sheet.title || r.cols !== cols || !view.querySelector('table')) {
    buildTable(sheet.title, grid, rows, cols, formulas, markChanges && r?.title === sheet.title ? r.cells : null);
    return;
  }
  // Same sheet and width: touch only what changed, so the view does not
  // jump while someone reads it, and changed cells can light up.
  const tbody = view.querySelector('tbody');
  while (r.rows > rows) {
    tbody.lastElementChild.remove();
    r.rows--;
    r.cells.pop();
  }
  for (let i = 0; i < rows; i++) {
    if (i >= r.rows) {
      tbody.append(buildRow(sheet.title, grid[i], i, cols, formulas, markChanges));
      r.cells.push(Array.from({ length: cols }, (_, j) => grid[i][j] ?? ''));
      r.rows++;
      continue;
    }
    const tr = tbody.children[i];
    for (let j = 0; j < cols; j++) {
      const v = grid[i][j] ?? '';
      if (r.cells[i][j] === v && (formulas[`${columnName(j)}${i + 1}`] || '') === (tr.children[j + 1].dataset.formula || '')) continue;
      r.cells[i][j] = v;
      const td = buildCell(sheet.title, v, i, j, formulas);
      if (markChanges) flash(td);
      tr.children[j + 1].replaceWith(td);
    }
  }
}

// buildTable draws a sheet from scratch; with before (the cells shown until
// now) it still lights up what changed, e.g. when a wider row arrived.
function buildTable(title, grid, rows, cols, formulas, before) {
  const head = el('tr', {}, el('th', { class: 'corner' }), ...Array.from({ length: cols }, (_, j) => el('th', { text: columnName(j) })));
  const tbody = el('tbody');
  const cells = [];
  for (let i = 0; i < rows; i++) {
    const tr = buildRow(title, grid[i], i, cols, formulas, false);
    if (before) {
      for (let j = 0; j < cols; j++) {
        const v = grid[i][j] ?? '';
        if (v !== (before[i]?.[j] ?? '')) flash(tr.children[j + 1]);
      }
    }
    tbody.append(tr);
    cells.push(Array.from({ length: cols }, (_, j) => grid[i][j] ?? ''));
  }
  const table = el('table', { class: 'grid', 'data-testid': 'sheet-table', 'data-sheet': title }, el('thead', {}, head), tbody);
  const view = $('sheet-view');
  const keep = sheetView.rendered?.title === title ? { top: view.scrollTop, left: view.scrollLeft } : null;
  view.replaceChildren(table);
  if (rows === 0) view.append(el('div', { class: 'empty', text: 'Лист пуст.' }));
  if (keep) { view.scrollTop = keep.top; view.scrollLeft = keep.left; }
  sheetView.rendered = { title, rows, cols, cells };
}

function buildRow(title, row, i, cols, formulas, markChanges) {
  const tr = el('tr', {}, el('th', { text: String(i + 1) }));
  for (let j = 0; j < cols; j++) {
    const td = buildCell(title, row[j] ?? '', i, j, formulas);
    if (markChanges && td.textContent) flash(td);
    tr.append(td);
  }
  return tr;
}

function buildCell(title, v, i, j, formulas) {
  const ref = `${columnName(j)}${i + 1}`;
  const formula = formulas[ref];
  const td = el('td', { 'data-cell': ref, title: formula ? `${formula}` : undefined, 'data-formula': formula || undefined });
  td.textContent = v;
  if (formula) td.classList.add('formula');
  if (/^-?\d+(?:[.,]\d+)?$/.test(v)) td.classList.add('num');
  if (v.length > LONG_CELL || v.includes('\n')) {
    td.classList.add('long');
    const key = `${title}!${ref}`;
    if (sheetView.expanded.has(key)) td.classList.add('expanded');
    td.addEventListener('click', () => {
      td.classList.toggle('expanded');
      if (td.classList.contains('expanded')) sheetView.expanded.add(key); else sheetView.expanded.delete(key);
    });
  }
  return td;
}

function flash(td) {
  td.classList.add('changed');
  setTimeout(() => td.classList.remove('changed'), 2500);
}

let sheetTickRunning = false;
async function sheetTick() {
  if (sheetTickRunning || !state.ep) return;
  sheetTickRunning = true;
  try {
    const snap = await refreshSpreadsheet();
    setOnline('sheets', true);
    renderSheetTabs(snap);
    markChangedTabs(snap);
    if (rightPane === 'sheet') {
      const first = !sheetView.rendered || sheetView.rendered.title !== sheetView.active;
      renderActiveSheet(snap, !first);
    }
    if (!$('partner-list').hidden) renderPicker();
  } catch (e) {
    setOnline('sheets', false, 'Sheets-эмулятор недоступен');
    if (!sheetView.rendered) $('sheet-view').replaceChildren(el('div', { class: 'empty', text: e.message }));
  } finally {
    sheetTickRunning = false;
  }
}

// ---------------------------------------------------------------------------
// The system panel

let rightPane = 'sheet';

function setRightPane(p) {
  rightPane = p;
  $('sheet-pane').hidden = p !== 'sheet';
  $('system-panel').hidden = p !== 'system';
  $('system-tab').classList.toggle('active', p === 'system');
  if (state.spreadsheet) renderSheetTabs(state.spreadsheet);
  if (p === 'system') systemTick();
}

function statsList(box, rows) {
  box.replaceChildren(...rows.flatMap(([label, value, testid]) => [
    el('dt', { text: label }), el('dd', { 'data-testid': testid, text: value ?? '—' }),
  ]));
}

function promptOf(req) {
  if (!req || typeof req !== 'object') return typeof req === 'string' ? req : '';
  const partsText = (c) => (c?.parts || []).map((p) => p.text || '').filter(Boolean).join('\n');
  if (Array.isArray(req.contents) && req.contents.length) {
    const users = req.contents.filter((c) => !c.role || c.role === 'user');
    return partsText(users[users.length - 1] || req.contents[req.contents.length - 1]);
  }
  if (Array.isArray(req.requests) && req.requests.length) return partsText(req.requests[0].content);
  if (req.content) return partsText(req.content);
  return '';
}

async function systemTick() {
  const ep = state.ep;
  const jobs = [
    api(ep.sheets_control, '/stats').then((s) => {
      statsList($('sheets-stats'), [
        ['Чтения', s.reads, 'sheets-reads'], ['Записи', s.writes, 'sheets-writes'],
        ['Макс. чтений за минуту', s.max_reads_per_min, 'sheets-max-reads'],
        ['Макс. записей за минуту', s.max_writes_per_min, 'sheets-max-writes'],
        ['Ответы 429', s.http_429, 'sheets-429'], ['Внесённые 5xx', s.http_5xx_injected, 'sheets-5xx'],
      ]);
    }),
    tg('/stats').then((s) => {
      statsList($('telegram-stats'), [
        ['Вызовы Bot API', s.calls, 'telegram-calls'], ['Отправлено сообщений', s.sends, 'telegram-sends'],
        ['Ответы 429', s.http_429, 'telegram-429'],
      ]);
    }),
  ];
  if (ep.gemini_control) {
    jobs.push(api(ep.gemini_control, '/requests?limit=20').then(renderGeminiLog));
  }
  const results = await Promise.allSettled(jobs);
  for (const r of results) if (r.status === 'rejected') reportError(r.reason, 'панель «Система»');
}

function renderGeminiLog(list) {
  const box = $('gemini-log');
  const items = (list || []).slice().reverse();
  const open = new Set([...box.querySelectorAll('details[open]')].map((d) => d.dataset.id));
  if (!items.length) {
    box.replaceChildren(el('div', { class: 'empty', text: 'Запросов к Gemini ещё не было.' }));
    return;
  }
  box.replaceChildren(...items.map((r) => {
    const prompt = promptOf(r.request);
    const d = el('details', { class: `gemini-entry${r.status >= 400 ? ' failed' : ''}`, 'data-testid': 'gemini-entry', 'data-id': r.id },
      el('summary', {},
        el('span', { class: 'g-time', text: new Date(r.time).toLocaleTimeString('ru-RU') }),
        el('span', { class: 'g-model', text: `${r.model} · ${r.method}` }),
        el('span', { class: 'g-status', text: `${r.status} · ${r.duration_ms} мс` }),
        el('span', { class: 'g-prompt', text: prompt.replace(/\s+/g, ' ').slice(0, 120) })),
      el('div', { class: 'g-label', text: 'Запрос' }), el('pre', { 'data-testid': 'gemini-prompt', text: prompt.slice(0, 4000) }),
      el('div', { class: 'g-label', text: r.error ? 'Ошибка' : 'Ответ' }),
      el('pre', { 'data-testid': 'gemini-answer', text: (r.error || r.response_text || '').slice(0, 4000) }));
    if (open.has(String(r.id))) d.open = true;
    return d;
  }));
}

// ---------------------------------------------------------------------------
// Start

function applyLinks(ep) {
  for (const a of document.querySelectorAll('a[data-endpoint]')) {
    const v = a.dataset.endpoint.split('.').reduce((o, k) => (o ? o[k] : undefined), ep);
    const href = typeof v === 'string' ? safeLink(v) : null;
    if (href) { a.href = href; a.hidden = false; } else { a.hidden = true; a.closest('li')?.setAttribute('hidden', ''); }
  }
  $('auth-sheet-title').textContent = ep.sheet_titles.auth;
}

function bindUI() {
  $('partner-picker').addEventListener('click', () => ($('partner-list').hidden ? openPicker() : closePicker()));
  $('new-user-form').addEventListener('submit', createCustomUser);
  $('block-toggle').addEventListener('click', toggleBlock);
  $('send-button').addEventListener('click', sendMessage);
  bindComposer($('message-input'), sendMessage);
  $('edit-cancel').addEventListener('click', () => { stopEditing(); $('message-input').value = ''; });
  $('keyboard-toggle').addEventListener('click', () => {
    if (!state.keyboard) return;
    state.keyboard.hidden = !state.keyboard.hidden;
    state.keyboardSig = null;
    updateReplyKeyboard(state.chat);
  });
  $('attach-button').addEventListener('click', () => { $('attach-menu').hidden = !$('attach-menu').hidden; });
  for (const [id, fn] of Object.entries(ATTACHMENTS)) {
    $(id).addEventListener('click', async () => {
      $('attach-menu').hidden = true;
      if (!state.user) return;
      try {
        await fn();
      } catch (e) {
        reportError(e, 'вложение');
      }
    });
  }
  $('attach-file-input').addEventListener('change', () => sendChosenFile().catch((e) => reportError(e, 'файл')));
  $('group-send-button').addEventListener('click', sendGroupMessage);
  bindComposer($('group-input'), sendGroupMessage);
  $('group-reply-cancel').addEventListener('click', () => setGroupReplyTarget(null));
  // Pointer and focus mean a person looks at the group; scrolling does not,
  // because the page scrolls itself when a message arrives.
  for (const ev of ['pointermove', 'pointerdown', 'focusin']) {
    document.querySelector('.group-col').addEventListener(ev, markGroupSeen, { passive: true });
  }
  $('system-tab').addEventListener('click', () => setRightPane('system'));
  $('miniapp-close').addEventListener('click', closeMiniApp);
  $('miniapp-main-button').addEventListener('click', () => postToMiniApp('main_button_pressed'));
  $('miniapp-back-button').addEventListener('click', () => postToMiniApp('back_button_pressed'));
  window.addEventListener('message', onMiniAppMessage);
  window.addEventListener('resize', () => { if (miniApp.origin) postToMiniApp('viewport_changed', viewport()); });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    if (!$('miniapp-overlay').hidden) closeMiniApp();
    closePicker();
    for (const id of ['attach-menu', 'commands-menu']) $(id).hidden = true;
  });
  document.addEventListener('click', (e) => {
    for (const [menu, opener] of [['attach-menu', 'attach-button'], ['commands-menu', 'menu-button'], ['partner-list', 'partner-picker']]) {
      const m = $(menu);
      if (!m.hidden && !m.contains(e.target) && !$(opener).contains(e.target)) {
        if (menu === 'partner-list') closePicker(); else m.hidden = true;
      }
    }
  });
}

// housekeeping picks up what changes rarely: the menu button the bot sets at
// start, the blocked flag, the bot's name. An unreachable emulator is
// already shown by the transcripts' banner, so it is not reported again.
async function housekeeping() {
  for (;;) {
    await sleep(4000);
    try {
      await refreshMenuButton();
      await refreshUserRecord();
      if (!state.bot) await loadBot();
    } catch (e) {
      if (e.status) reportError(e);
    }
  }
}

async function loadBot() {
  const bot = await tg('/bot');
  state.bot = bot;
  $('bot-name').textContent = bot.first_name || bot.username || 'Бот';
  $('bot-avatar').textContent = initials(bot.first_name || bot.username);
  $('bot-status').textContent = bot.username ? `@${bot.username} · бот` : 'бот';
}

async function main() {
  let ep;
  try {
    const resp = await fetch('endpoints.json', { cache: 'no-store' });
    if (!resp.ok) throw new Error(`endpoints.json: ${resp.status}`);
    ep = await resp.json();
  } catch (e) {
    document.body.prepend(el('div', { class: 'fatal', 'data-testid': 'fatal', text: `Песочница не настроена: ${e.message}` }));
    return;
  }
  ep.telegram_control = ep.telegram_control.replace(/\/+$/, '');
  ep.sheets_control = ep.sheets_control.replace(/\/+$/, '');
  if (ep.gemini_control) ep.gemini_control = ep.gemini_control.replace(/\/+$/, '');
  state.ep = ep;
  applyLinks(ep);
  bindUI();
  setRightPane('sheet');
  loadBot().catch((e) => reportError(e, 'бот'));
  startGroup();

  try {
    await refreshSpreadsheet();
  } catch (e) {
    reportError(e, 'таблица');
  }
  await sheetTick(); // the first view of the sheet is part of start-up
  setInterval(() => { if (!document.hidden && rightPane === 'sheet') sheetTick(); }, 2000);
  setInterval(() => { if (!document.hidden && rightPane === 'system') systemTick(); }, 3000);
  housekeeping();

  const saved = load(STORE_USER, null);
  if (saved && saved.id) await selectUser(saved);
  else openPicker();
  document.documentElement.dataset.ready = 'true';
}

main().catch((e) => reportError(e, 'запуск'));
