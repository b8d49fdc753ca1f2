// VWR JavaScript SDK: take a place in a waiting room from a page's own script, wait (optionally
// in an overlay that shows the place in line and the expected wait), and get the admission token
// to call the protected service with.
//
//   import { enter, heartbeat, leave } from '/sdk/vwr.js';
//
//   button.addEventListener('click', async () => {
//     try {
//       const token = await enter('sale', { overlay: true });
//       await fetch('/api/book', { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
//     } catch (e) {
//       if (e.code !== 'cancelled') throw e;   // the visitor left the line
//     }
//   });
//
// An ES module without dependencies. It talks to the VWR server it was loaded from (the same
// origin as the page, or the same reverse proxy), so load it from there. docs/integration.md
// describes every function and option.

import TEXTS from '../assets/i18n.js';

const API_BASE = new URL('../api/v1/rooms/', import.meta.url);
const WAIT_BASE = new URL('../wait/', import.meta.url);
const REQUEST_TIMEOUT_MS = 10000;
const MIN_POLL_MS = 250;
const MAX_BACKOFF_MS = 30000;
// The ticket's event stream (GET .../events, Server-Sent Events): the first event is due at
// once; nothing within this means a proxy holds the stream back, and the SDK polls instead.
// Never longer than the ticket's pollAfterMs (MIN_POLL_MS at least): a stream held back before
// it reached the server keeps no place, and a ticket silent for a few pollAfterMs is taken for
// abandoned.
const STREAM_FIRST_EVENT_MS = 5000;
// After the stream failed (an error, a 503 when the node has its most streams open, a proxy
// that buffers), the SDK polls for this long before it tries the stream again.
const STREAM_RETRY_AFTER_MS = 60000;
// The server's keep-alives are comments, which scripts never see: a stream silent this long is
// checked with one status poll, then listened to again.
const STREAM_QUIET_MS = 45000;

// ---------------------------------------------------------------------------------------------
// Errors

// Every failure of the SDK: `code` says what happened.
//   cancelled       the visitor (or the page, through `signal`) cancelled waiting
//   expired         the ticket's turn passed unclaimed (only when no overlay offers to re-join)
//   room_not_found  no room with that id
//   unavailable     the server answered with an error the SDK cannot wait out
export class VwrError extends Error {
  constructor(code, message, detail) {
    super(message);
    this.name = 'VwrError';
    this.code = code;
    this.detail = detail;
  }
}

// ---------------------------------------------------------------------------------------------
// Storage: tickets and tokens survive a reload. Private modes that refuse storage fall back to
// memory (a reload then costs the place, but nothing breaks).

class KeyValue {
  constructor(kind) {
    this.memory = new Map();
    this.store = null;
    try {
      const s = globalThis[kind];
      s.setItem('vwr:probe', '1');
      s.removeItem('vwr:probe');
      this.store = s;
    } catch {
      this.store = null;
    }
  }

  get(key) {
    try {
      if (this.store) return this.store.getItem(key);
    } catch {
      /* fall through */
    }
    return this.memory.has(key) ? this.memory.get(key) : null;
  }

  set(key, value) {
    this.memory.set(key, value);
    try {
      if (this.store) this.store.setItem(key, value);
    } catch {
      /* memory only */
    }
  }

  remove(key) {
    this.memory.delete(key);
    try {
      if (this.store) this.store.removeItem(key);
    } catch {
      /* nothing to do */
    }
  }
}

const stores = {};
function storeOf(kind) {
  if (!stores[kind]) stores[kind] = new KeyValue(kind === 'local' ? 'localStorage' : 'sessionStorage');
  return stores[kind];
}

const ticketKey = (room) => `vwr:${room}:ticket`;
const tokenKey = (room) => `vwr:${room}:token`;
const passKey = (room) => `vwr:${room}:pass`;
const endsKey = (room) => `vwr:${room}:ends`;

// The entry pass kept for `room` from an earlier admission (in localStorage, like the cookie
// vwr_pass_<room> the server sets, which scripts cannot read), while it holds; else null.
function keptPass(room) {
  const kept = storeOf('local').get(passKey(room));
  if (!kept) return null;
  try {
    const { pass, expires } = JSON.parse(kept);
    if (typeof pass === 'string' && typeof expires === 'number' && expires * 1000 > Date.now()) {
      return pass;
    }
  } catch {
    /* not ours: forget it */
  }
  storeOf('local').remove(passKey(room));
  return null;
}

// The end of the session admitted into `room` (rooms[].session_max: a cap on time inside,
// however active), kept in session storage beside the token: { endsAt: unix ms, maxSeconds }.
function rememberSessionEnd(room, endsAtSeconds, maxSeconds) {
  const store = storeOf('session');
  if (typeof endsAtSeconds !== 'number' || !(endsAtSeconds > 0)) {
    store.remove(endsKey(room));
    return;
  }
  const kept = sessionEnd(room);
  const max = typeof maxSeconds === 'number' && maxSeconds > 0 ? maxSeconds : kept?.maxSeconds ?? null;
  store.set(endsKey(room), JSON.stringify({ endsAt: endsAtSeconds * 1000, maxSeconds: max }));
}

// When the session this tab holds in `room` ends however active, as the server last said (on
// admission, then with every heartbeat): { endsAt (unix ms), maxSeconds } or null when the
// room sets no cap on time inside (or this tab holds no session).
export function sessionEnd(room) {
  try {
    const kept = JSON.parse(storeOf('session').get(endsKey(room)) ?? 'null');
    if (kept && typeof kept.endsAt === 'number') return kept;
  } catch {
    /* not ours */
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Texts and formatting (the same texts as the server's pages: web/i18n.json)

// 'ko' or 'en': the one asked for, else the page's language, else the browser's.
export function pickLang(lang) {
  const candidates = [lang, globalThis.document?.documentElement?.lang, globalThis.navigator?.language];
  for (const c of candidates) {
    if (typeof c === 'string' && c) return c.toLowerCase().startsWith('ko') ? 'ko' : 'en';
  }
  return 'en';
}

// The text `key` in `lang`, with {name} replaced from `values`.
export function text(lang, key, values = {}) {
  const table = TEXTS[lang] || TEXTS.en;
  let s = table[key] ?? TEXTS.en[key] ?? key;
  for (const [name, value] of Object.entries(values)) s = s.split(`{${name}}`).join(String(value));
  return s;
}

// An estimated wait for people; mirrors FormatEta in src/pages/texts.cpp.
export function formatEta(lang, seconds) {
  if (seconds === null || seconds === undefined || seconds < 0) return text(lang, 'eta_unknown');
  if (seconds === 0) return text(lang, 'eta_now');
  if (seconds < 60) return text(lang, 'eta_under_minute');
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return text(lang, 'eta_minutes', { n: minutes });
  return text(lang, 'eta_hours', { h: Math.floor(minutes / 60), m: minutes % 60 });
}

// An estimated wait with its range ([low, high] seconds: the wait falls inside about eight
// times in ten), as "about 3–5 minutes"; mirrors FormatEtaRange in src/pages/texts.cpp.
export function formatEtaRange(lang, seconds, range) {
  if (!Array.isArray(range) || range.length !== 2 || !(seconds > 0)) return formatEta(lang, seconds);
  const low = Math.min(Number(range[0]), seconds);
  const high = Math.max(Number(range[1]), seconds);
  if (!Number.isFinite(low) || !Number.isFinite(high)) return formatEta(lang, seconds);
  if (high < 60) return text(lang, 'eta_under_minute');
  if (high < 7200) {
    const from = Math.max(1, Math.floor(low / 60));
    const to = Math.max(from, Math.ceil(high / 60));
    if (from === to) return text(lang, 'eta_minutes', { n: to });
    return text(lang, 'eta_range_minutes', { low: from, high: to });
  }
  const from = Math.max(1, Math.floor(low / 3600));
  const to = Math.max(from, Math.ceil(high / 3600));
  if (from === to) return formatEta(lang, seconds);
  return text(lang, 'eta_range_hours', { low: from, high: to });
}

// Time left as a clock, "4:05" or "1:02:03".
export function formatClock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

// A length of time for people: "10 minutes", "1 hour 30 minutes", "45 seconds".
export function formatDuration(lang, seconds) {
  const s = Math.max(0, Math.round(seconds));
  const counted = (key, n, name = 'n') => text(lang, n === 1 ? `${key}_one` : key, { [name]: n });
  if (s < 60) return counted('duration_seconds', s);
  const minutes = Math.round(s / 60);
  if (minutes < 60) return counted('duration_minutes', minutes);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? counted('duration_hours', h, 'h') : text(lang, 'duration_hours_minutes', { h, m });
}

export function formatNumber(lang, n) {
  return new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-US').format(n);
}

// ---------------------------------------------------------------------------------------------
// HTTP

function apiUrl(room, action) {
  return new URL(encodeURIComponent(room) + (action ? `/${action}` : ''), API_BASE);
}

async function request(url, { method = 'GET', headers = {}, body, signal } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  const onAbort = () => controller.abort();
  if (signal) signal.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await fetch(url, {
      method,
      headers,
      body,
      cache: 'no-store',
      credentials: 'same-origin',
      signal: controller.signal,
    });
    let data = null;
    if (res.status !== 204) data = await res.json().catch(() => null);
    return { status: res.status, ok: res.ok, headers: res.headers, data };
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', onAbort);
  }
}

function backoffMs(failures, retryAfterHeader) {
  const retryAfter = Number.parseInt(retryAfterHeader ?? '', 10);
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(failures - 1, 5));
  const jittered = base * (0.75 + Math.random() * 0.5);
  const floor = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 0;
  return Math.round(Math.min(MAX_BACKOFF_MS, Math.max(floor, jittered)));
}

// ---------------------------------------------------------------------------------------------
// Proof of work (rooms with pow_difficulty): solved in a Web Worker (sdk/pow.js), or on this
// thread in slices when the browser will not start one (the SDK loaded from another origin).

const POW_CODES = new Set(['pow_required', 'pow_expired', 'pow_replayed', 'pow_invalid']);
const MAX_POW_TRIES = 3;
const POW_WORKER_URL = new URL('./pow.js', import.meta.url);

function solveInWorker(challenge, difficulty, { onProgress, signal }) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(POW_WORKER_URL, { type: 'module' });
    const stop = () => {
      worker.terminate();
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', stop, { once: true });
    const finish = () => {
      signal?.removeEventListener('abort', stop);
      worker.terminate();
    };
    worker.onmessage = (event) => {
      if (typeof event.data?.nonce === 'string') {
        finish();
        resolve(event.data.nonce);
      } else if (typeof event.data?.tried === 'number') {
        onProgress?.(event.data.tried);
      }
    };
    worker.onerror = (event) => {
      finish();
      event.preventDefault?.();
      reject(new Error('worker failed'));
    };
    worker.postMessage({ challenge, difficulty });
  });
}

// The nonce that solves `challenge` (see sdk/pow.js).
export async function solvePow(challenge, difficulty, { onProgress, signal } = {}) {
  if (typeof Worker === 'function' && POW_WORKER_URL.origin === globalThis.location?.origin) {
    try {
      return await solveInWorker(challenge, difficulty, { onProgress, signal });
    } catch (e) {
      if (signal?.aborted) throw e;
      console.warn('vwr: proof of work in a worker failed; solving on the page', e);
    }
  }
  const { solve } = await import('./pow.js');
  return solve(challenge, difficulty, { onProgress, signal });
}

// ---------------------------------------------------------------------------------------------
// Waiter: one visitor's way through a room, as a loop of join and status polls.
//
// Each step reports an update { state, position, peopleAhead, initialPosition, queueSize,
// etaSeconds, progress, updatedAt, retryInMs, answer } where state is one of
//   waiting    in line (position, etaSeconds)
//   paused     in line, but the room admits nobody for now (no estimate)
//   closed     the room is closed; a ticket keeps its place for when it reopens
//   full       the line is full; no ticket yet, joining again after a while
//   network    the server could not be reached or was unavailable; retrying after retryInMs
//   expired    the turn passed unclaimed (or the session ended); see onExpired
//   admitted   in: answer.token is the admission token (answer.sessionEndsAt: when the
//              session ends however active, in a room with a cap on time inside)
// `channel` says how the update came: 'join' (a join's answer), 'stream' (the ticket's event
// stream, used wherever the browser has EventSource) or 'poll' (status polls: no EventSource,
// the stream failed or was refused, or nothing came through it in time, as behind a proxy that
// buffers).
// The ticket is kept in storage by room, so a reload carries on with the same place: the first
// request after a reload is a join that brings the kept ticket (X-VWR-Ticket), which the server
// answers with that place (or a new one when the ticket is spent). A userId is only a hint to
// the server; with signed identities, userToken (a string, or a function giving a fresh one) is
// the platform's own token for the user, sent with every join (X-VWR-User-Token).

export class Waiter {
  #room;
  #userId;
  #userToken;
  #store;
  #onUpdate;
  #onExpired;
  #stopped = false;
  #rejoinedWithPass = false;
  #abort = new AbortController();
  #timer = null;
  #wake = null;
  #rejoin = null;
  #pow = null; // { challenge, nonce } for the next join
  #useStream;
  #streamRetryAt = 0; // polls only until then (the stream failed)
  #pollAfterMs = STREAM_FIRST_EVENT_MS; // the last answer's
  #stopListening = null;
  #resolve;
  #reject;
  #promise;

  // storage: 'session' (default) or 'local'. onExpired: 'wait' (until rejoin() is called),
  // 'fail' (reject with VwrError 'expired') or 'rejoin' (take a new place at once).
  // stream: false polls only (never opens the ticket's event stream).
  constructor(room, { userId, userToken, storage = 'session', onUpdate, onExpired = 'wait', stream = true } = {}) {
    if (typeof room !== 'string' || !room) throw new TypeError('room must be a non-empty string');
    this.#room = room;
    this.#userId = userId;
    this.#userToken = userToken;
    this.#store = storeOf(storage);
    this.#onUpdate = onUpdate;
    this.#onExpired = onExpired;
    this.#useStream = stream !== false;
    this.#promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#promise.catch(() => {}); // callers that never await must not see an unhandled rejection
    this.last = null;
  }

  get room() {
    return this.#room;
  }

  get ticket() {
    return this.#store.get(ticketKey(this.#room));
  }

  // Starts the loop (once); resolves with the admitted answer.
  start() {
    if (!this.started) {
      this.started = true;
      this.#run();
    }
    return this.#promise;
  }

  // Stops waiting and gives the place up; start()'s promise rejects with VwrError 'cancelled'.
  cancel() {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    clearTimeout(this.#timer);
    this.#stopListening?.({ stopped: true });
    this.#store.remove(ticketKey(this.#room));
    this.#wake?.();
    this.#rejoin?.(false);
    this.#reject(new VwrError('cancelled', 'waiting was cancelled'));
  }

  // Leaves the line: the place is given back to the server (the people behind move up, and it
  // takes no slot when its turn would have come), then waiting stops as with cancel(). Resolves
  // once the server has answered (or could not be reached: the place then lapses by itself).
  async leave() {
    const ticket = this.ticket;
    this.cancel();
    if (ticket) await withdraw(this.#room, ticket).catch(() => {});
  }

  // Polls now instead of at the next planned time (a "retry now" button).
  retryNow() {
    clearTimeout(this.#timer);
    this.#wake?.();
    // Listening: one status poll now, then the stream again.
    this.#stopListening?.({ quiet: true });
  }

  // After 'expired' with onExpired 'wait': take a new place at the back of the line.
  rejoin() {
    this.#rejoin?.(true);
  }

  #emit(state, fields = {}) {
    const update = { room: this.#room, state, updatedAt: new Date(), ...fields };
    this.last = update;
    try {
      this.#onUpdate?.(update);
    } catch (e) {
      console.error('vwr: onUpdate failed', e);
    }
  }

  #sleep(ms) {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
  }

  // The headers of a join: the kept ticket (a re-join) and the user's token, when there are.
  #joinHeaders(ticket) {
    const headers = { 'Content-Type': 'application/json' };
    if (ticket) headers['X-VWR-Ticket'] = ticket;
    const token = typeof this.#userToken === 'function' ? this.#userToken() : this.#userToken;
    if (token) headers['X-VWR-User-Token'] = String(token);
    return headers;
  }

  async #run() {
    let failures = 0;
    let rejoinedForBadTicket = false;
    let powTries = 0;
    // The first request joins, bringing a ticket kept from before a reload; then status polls.
    let joined = false;
    while (!this.#stopped) {
      let delay = 0;
      const ticket = this.ticket;
      const joining = !ticket || !joined;
      if (!joining && this.#streamUsable()) {
        const outcome = await this.#listen(ticket);
        if (this.#stopped) return;
        if (outcome.answer) {
          delay = await this.#answer(outcome.answer, 'stream');
          if (delay === null) return;
          continue; // expired: a new join (or waiting for rejoin() has happened)
        }
        if (outcome.fallback) this.#streamRetryAt = Date.now() + STREAM_RETRY_AFTER_MS;
        // Otherwise quiet for long, or retryNow(): one status poll, then the stream again.
      }
      try {
        const res = joining
          ? await request(apiUrl(this.#room, 'join'), {
              method: 'POST',
              headers: this.#joinHeaders(ticket),
              body: JSON.stringify(this.#joinBody()),
              signal: this.#abort.signal,
            })
          : await request(apiUrl(this.#room, 'status'), {
              headers: { 'X-VWR-Ticket': ticket },
              signal: this.#abort.signal,
            });
        if (joining) this.#pow = null; // a solution works once
        if (res.ok) joined = true;
        if (this.#stopped) return;
        const code = res.data?.error?.code;
        // Counts proofs refused in a row: a server that keeps refusing good ones is not waited out.
        if (!(res.status === 403 && POW_CODES.has(code))) powTries = 0;
        if (res.ok && res.data && typeof res.data.status === 'string') {
          failures = 0;
          delay = await this.#answer(res.data, joining ? 'join' : 'poll');
          if (delay === null) return;
          // In line with a stream to listen to: listen at once rather than after a poll's wait.
          if (res.data.ticket && ['waiting', 'rejected'].includes(res.data.status) && this.#streamUsable()) {
            delay = 0;
          }
        } else if (res.status === 403 && POW_CODES.has(code) && joining && powTries < MAX_POW_TRIES) {
          // The room asks a proof of work on join (or the last one expired or was spent): fetch
          // a challenge, solve it, and join again with it.
          powTries += 1;
          this.#pow = await this.#solveChallenge();
          if (this.#stopped) return;
          continue;
        } else if (res.status === 401 && code === 'invalid_ticket' && ticket && !rejoinedForBadTicket) {
          // A ticket this server no longer accepts (its key changed): take a new place once.
          this.#store.remove(ticketKey(this.#room));
          rejoinedForBadTicket = true;
        } else if (res.status === 404 && code === 'room_not_found') {
          this.#emit('not_found');
          return this.#fail(new VwrError('room_not_found', `no room "${this.#room}"`));
        } else if (res.status === 429 || res.status >= 500) {
          failures += 1;
          delay = backoffMs(failures, res.headers.get('Retry-After'));
          this.#emit('network', { retryInMs: delay, httpStatus: res.status });
        } else {
          this.#emit('error', { httpStatus: res.status });
          return this.#fail(
            new VwrError('unavailable', `the waiting room answered ${res.status} ${code ?? ''}`.trim(), res.data),
          );
        }
      } catch (e) {
        if (this.#stopped) return;
        failures += 1;
        delay = backoffMs(failures);
        this.#emit('network', { retryInMs: delay, reason: String(e?.message ?? e) });
      }
      if (delay > 0 && !this.#stopped) await this.#sleep(delay);
    }
  }

  #fail(error) {
    this.#stopped = true;
    this.#reject(error);
  }

  // Whether to listen to the ticket's event stream now rather than poll.
  #streamUsable() {
    return this.#useStream && typeof globalThis.EventSource === 'function' && Date.now() >= this.#streamRetryAt;
  }

  // Listens to the ticket's event stream (the ticket goes in the query: EventSource cannot set
  // headers) until it decides or fails. Position events are shown as they come. Resolves with
  //   { answer }            an admission (confirmed by one status poll, whose answer also sets
  //                         the admission cookie) or the end of the place (expired)
  //   { fallback: reason }  'error' (refused, cut, unreachable) or 'timeout' (nothing came in
  //                         time: a buffering proxy): poll for a while
  //   { quiet | stopped }   silent for long, retryNow() or cancel()
  #listen(ticket) {
    return new Promise((resolve) => {
      const url = new URL(apiUrl(this.#room, 'events'));
      url.searchParams.set('ticket', ticket);
      let source;
      try {
        source = new EventSource(url, { withCredentials: false });
      } catch {
        resolve({ fallback: 'error' });
        return;
      }
      let timer = null;
      let settled = false;
      const done = (outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        source.close();
        this.#stopListening = null;
        resolve(outcome);
      };
      const arm = (ms, outcome) => {
        clearTimeout(timer);
        timer = setTimeout(() => done(outcome), ms);
      };
      this.#stopListening = done;
      arm(Math.min(STREAM_FIRST_EVENT_MS, this.#pollAfterMs), { fallback: 'timeout' });
      const parse = (e) => {
        try {
          const a = JSON.parse(e.data);
          return a && typeof a.status === 'string' ? a : null;
        } catch {
          return null;
        }
      };
      source.addEventListener('position', (e) => {
        const a = parse(e);
        if (!a || settled) return;
        arm(STREAM_QUIET_MS, { quiet: true });
        this.#answer(a, 'stream');
      });
      source.addEventListener('admitted', async (e) => {
        const a = parse(e);
        if (!a || settled) return;
        clearTimeout(timer);
        source.close();
        done({ answer: await this.#confirm(ticket, a) });
      });
      source.addEventListener('expired', (e) => {
        const a = parse(e);
        if (a) done({ answer: a });
      });
      // EventSource would reconnect by itself; the SDK decides instead (polls for a while).
      source.onerror = () => done({ fallback: 'error' });
    });
  }

  // An admission that came through the stream, asked once more by a status poll: a stream
  // cannot set cookies, and that answer sets the admission cookie (and the entry pass's) for
  // the protected site. The stream's own answer stands when the poll fails.
  async #confirm(ticket, streamed) {
    try {
      const res = await request(apiUrl(this.#room, 'status'), {
        headers: { 'X-VWR-Ticket': ticket },
        signal: this.#abort.signal,
      });
      if (res.ok && res.data?.status === 'admitted') return res.data;
    } catch {
      /* the streamed answer holds the same session */
    }
    return streamed;
  }

  // The join's body: the userId, and an entry pass kept from an earlier admission (a room with
  // entry passes lets its holder back in at once).
  #joinBody() {
    const body = {};
    if (this.#userId) body.userId = String(this.#userId);
    const pass = keptPass(this.#room);
    if (pass) body.entryPass = pass;
    if (this.#pow) {
      body.challenge = this.#pow.challenge;
      body.nonce = this.#pow.nonce;
    }
    return body;
  }

  // Fetches the room's challenge and solves it (in a Web Worker when one can be started);
  // reports 'joining' with pow { difficulty, tried } as it goes. Network errors propagate.
  async #solveChallenge() {
    const res = await request(apiUrl(this.#room, 'challenge'), { signal: this.#abort.signal });
    const c = res.data;
    if (!res.ok || !c || typeof c.challenge !== 'string') {
      throw new Error(`the challenge could not be fetched (${res.status})`);
    }
    const difficulty = Number(c.difficulty) || 0;
    this.#emit('joining', { pow: { difficulty, tried: 0 } });
    const onProgress = (tried) => this.#emit('joining', { pow: { difficulty, tried } });
    const nonce = await solvePow(c.challenge, difficulty, { onProgress, signal: this.#abort.signal });
    return { challenge: c.challenge, nonce };
  }

  // Handles a ticket answer (from a poll or the stream); the delay before the next request, or
  // null when done.
  async #answer(a, channel = 'poll') {
    if (a.ticket) this.#store.set(ticketKey(this.#room), a.ticket);
    const position = Number(a.position) || 0;
    const initial = Number(a.initialPosition) || 0;
    const fields = {
      answer: a,
      position,
      peopleAhead: Math.max(0, position - 1),
      initialPosition: initial,
      queueSize: Number(a.queueSize) || 0,
      etaSeconds: a.etaSeconds ?? null,
      etaRange: Array.isArray(a.etaRange) ? a.etaRange : null,
      pollAfterMs: a.pollAfterMs,
      channel,
      progress: initial > 0 ? Math.min(100, Math.max(0, 100 - (position / initial) * 100)) : 0,
    };
    const pollAfter = Math.max(MIN_POLL_MS, Number(a.pollAfterMs) || 1000);
    this.#pollAfterMs = pollAfter;
    switch (a.status) {
      case 'waiting':
        this.#emit(a.etaSeconds === null || a.etaSeconds === undefined ? 'paused' : 'waiting', fields);
        return pollAfter;
      case 'admitted':
        if (a.token) storeOf('session').set(tokenKey(this.#room), a.token);
        rememberSessionEnd(this.#room, a.sessionEndsAt, a.sessionMaxSeconds);
        if (typeof a.entryPass === 'string' && typeof a.entryPassExpires === 'number') {
          storeOf('local').set(
            passKey(this.#room),
            JSON.stringify({ pass: a.entryPass, expires: a.entryPassExpires }),
          );
        }
        this.#stopped = true;
        this.#emit('admitted', { ...fields, progress: 100, etaSeconds: 0 });
        this.#resolve(a);
        return null;
      case 'rejected':
        this.#emit('closed', fields);
        return pollAfter;
      case 'full':
        this.#emit('full', fields);
        return pollAfter;
      case 'expired': {
        this.#store.remove(ticketKey(this.#room));
        if (!this.#rejoinedWithPass && keptPass(this.#room)) {
          // Back within the entry pass time: join again at once, and the pass lets them in.
          this.#rejoinedWithPass = true;
          this.#emit('joining', fields);
          return 0;
        }
        this.#emit('expired', fields);
        if (this.#onExpired === 'fail') {
          this.#fail(new VwrError('expired', 'the turn passed unclaimed; join again'));
          return null;
        }
        if (this.#onExpired === 'wait') {
          const again = await new Promise((resolve) => {
            this.#rejoin = resolve;
          });
          this.#rejoin = null;
          if (!again || this.#stopped) return null;
          this.#emit('joining');
        }
        return 0;
      }
      default:
        this.#emit('error', { answer: a });
        this.#fail(new VwrError('unavailable', `unknown status "${a.status}"`, a));
        return null;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The overlay: a modal dialog over the page while waiting. Built in a shadow root so that the
// page's styles and ours leave each other alone, with styles set from script (no inline style
// attributes, so a strict Content-Security-Policy on the page is fine).

const OVERLAY_CSS = `
:host { all: initial; }
.backdrop { position: fixed; inset: 0; background: rgba(10, 14, 24, .55); z-index: 2147483646; }
.dialog {
  position: fixed; z-index: 2147483647; left: 50%; top: 50%; transform: translate(-50%, -50%);
  width: min(26rem, calc(100vw - 1.5rem)); max-height: calc(100vh - 1.5rem); overflow: auto;
  box-sizing: border-box; padding: 1.5rem; border-radius: 16px; background: #fff; color: #14171f;
  box-shadow: 0 20px 60px rgba(0, 0, 0, .3);
  font: 16px/1.6 system-ui, -apple-system, "Apple SD Gothic Neo", "Malgun Gothic", "Noto Sans KR",
    "Noto Sans CJK KR", "Segoe UI", Roboto, Arial, sans-serif;
  word-break: keep-all; overflow-wrap: anywhere;
}
.top { display: flex; align-items: flex-start; justify-content: space-between; gap: .75rem; }
h2 { margin: 0 0 .4rem; font-size: 1.3rem; line-height: 1.3; outline: none; }
p { margin: 0 0 1rem; }
.lead { color: #4a5160; font-size: .95rem; }
.message { padding: .6rem .85rem; background: #fff6dc; border-left: 4px solid #e2b33b; border-radius: 8px; }
.position { text-align: center; background: #e8eefc; border-radius: 12px; padding: .85rem; margin: 0 0 .75rem; }
.position span { display: block; font-size: .875rem; color: #4a5160; }
.position strong { display: block; font-size: 2.6rem; line-height: 1.15; color: #1f4fd1; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: 1fr 1fr; gap: .5rem; margin: 0 0 .9rem; }
dl div { background: #f3f5f9; border-radius: 10px; padding: .5rem .75rem; }
dt { font-size: .8rem; color: #4a5160; }
dd { margin: 0; font-weight: 700; font-variant-numeric: tabular-nums; }
label { display: block; font-size: .8rem; color: #4a5160; margin-bottom: .2rem; }
progress {
  display: block; width: 100%; height: .8rem; margin: 0 0 1rem; border: 0; border-radius: 999px;
  overflow: hidden; background: #d9dee8; accent-color: #1f4fd1; -webkit-appearance: none; appearance: none;
}
progress::-webkit-progress-bar { background: #d9dee8; border-radius: 999px; }
progress::-webkit-progress-value { background: #1f4fd1; border-radius: 999px; transition: width .6s ease; }
progress::-moz-progress-bar { background: #1f4fd1; border-radius: 999px; }
@media (prefers-reduced-motion: reduce) { progress::-webkit-progress-value { transition: none; } }
.status { font-weight: 600; padding: .6rem .85rem; border-radius: 8px; background: #e8eefc; }
.status:empty { display: none; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; justify-content: flex-end; }
button {
  font: inherit; font-weight: 600; min-height: 2.75rem; padding: .5rem 1rem; border-radius: 10px;
  border: 1px solid #1f4fd1; background: #fff; color: #1f4fd1; cursor: pointer;
}
button.primary { background: #1f4fd1; color: #fff; }
button.lang { min-height: 2.25rem; padding: .25rem .75rem; border-radius: 999px; font-size: .85rem; border-color: #d9dee8; color: #4a5160; }
button:focus-visible, h2:focus-visible { outline: 3px solid #1f4fd1; outline-offset: 2px; }
[hidden] { display: none !important; }
@media (prefers-color-scheme: dark) {
  .dialog { background: #181c24; color: #eef1f6; }
  .lead, .position span, dt, label { color: #b3bac7; }
  .message { background: #3a2f12; border-color: #b8912c; }
  .position, .status { background: #1f2a44; }
  .position strong { color: #8fb0ff; }
  dl div { background: #0f1217; }
  progress, progress::-webkit-progress-bar { background: #2d3442; }
  progress::-webkit-progress-value, progress::-moz-progress-bar { background: #8fb0ff; }
  button { background: #181c24; color: #8fb0ff; border-color: #8fb0ff; }
  button.primary { background: #8fb0ff; color: #0f1217; }
  button.lang { border-color: #2d3442; color: #b3bac7; }
}
`;

const OVERLAY_HTML = `
<div class="backdrop" part="backdrop"></div>
<div class="dialog" part="dialog" role="dialog" aria-modal="true" aria-labelledby="vwr-title" aria-describedby="vwr-lead">
  <div class="top">
    <h2 id="vwr-title" tabindex="-1" data-t="overlay_title"></h2>
    <button type="button" class="lang" data-act="lang"></button>
  </div>
  <p class="lead" id="vwr-lead" data-t="overlay_lead"></p>
  <p class="message" data-v="message" role="note" hidden></p>
  <div class="position"><span id="vwr-position-label" data-t="position"></span><strong data-v="position" aria-labelledby="vwr-position-label">…</strong></div>
  <dl>
    <div><dt data-t="people_ahead"></dt><dd data-v="people_ahead">…</dd></div>
    <div><dt data-t="eta"></dt><dd data-v="eta">…</dd></div>
  </dl>
  <label for="vwr-progress" data-t="progress"></label>
  <progress id="vwr-progress" max="100" value="0"></progress>
  <p class="status" data-v="status" role="status" aria-live="polite"></p>
  <div class="actions">
    <button type="button" data-act="retry" data-t="retry_now" hidden></button>
    <button type="button" class="primary" data-act="rejoin" data-t="rejoin" hidden></button>
    <button type="button" data-act="cancel" data-t="cancel"></button>
  </div>
</div>`;

let overlaySheet = null;
function adoptStyles(root) {
  try {
    if (!overlaySheet) {
      overlaySheet = new CSSStyleSheet();
      overlaySheet.replaceSync(OVERLAY_CSS);
    }
    root.adoptedStyleSheets = [overlaySheet];
  } catch {
    // Older browsers: a stylesheet element inside the shadow root.
    const style = document.createElement('style');
    style.textContent = OVERLAY_CSS;
    root.prepend(style);
  }
}

export class Overlay {
  constructor(room, { lang, onCancel, onRetry, onRejoin } = {}) {
    this.room = room;
    this.lang = pickLang(lang);
    this.handlers = { cancel: onCancel, retry: onRetry, rejoin: onRejoin };
    this.previousFocus = document.activeElement;
    this.update_ = null;
    this.message = '';
    this.host = document.createElement('div');
    this.host.setAttribute('data-vwr-overlay', room);
    this.root = this.host.attachShadow({ mode: 'open' });
    adoptStyles(this.root);
    const template = document.createElement('template');
    template.innerHTML = OVERLAY_HTML;
    this.root.append(template.content);
    this.dialog = this.root.querySelector('.dialog');
    this.root.addEventListener('click', (e) => this.#onClick(e));
    this.onKey = (e) => this.#onKeyDown(e);
    document.addEventListener('keydown', this.onKey, true);
    document.body.append(this.host);
    this.#renderTexts();
    this.root.getElementById('vwr-title').focus();
    this.#loadMessage();
  }

  async #loadMessage() {
    try {
      const res = await request(new URL(`${encodeURIComponent(this.room)}/message`, WAIT_BASE));
      if (res.ok && typeof res.data?.message === 'string') {
        this.message = res.data.message;
        this.#renderMessage();
      }
    } catch {
      /* the message is a nicety */
    }
  }

  #renderMessage() {
    const el = this.root.querySelector('[data-v="message"]');
    if (!el) return;
    el.textContent = this.message;
    el.hidden = !this.message;
  }

  #renderTexts() {
    this.dialog.setAttribute('lang', this.lang);
    for (const el of this.root.querySelectorAll('[data-t]')) el.textContent = text(this.lang, el.dataset.t);
    const other = this.lang === 'ko' ? 'en' : 'ko';
    const toggle = this.root.querySelector('[data-act="lang"]');
    toggle.textContent = other === 'ko' ? '한국어' : 'English';
    toggle.setAttribute('lang', other);
    toggle.setAttribute('aria-label', `${text(this.lang, 'lang_switch')}: ${toggle.textContent}`);
    this.#renderMessage();
    if (this.update_) this.update(this.update_);
  }

  #onClick(e) {
    const button = e.target.closest?.('[data-act]');
    if (!button) return;
    const act = button.dataset.act;
    if (act === 'lang') {
      this.lang = this.lang === 'ko' ? 'en' : 'ko';
      this.#renderTexts();
      return;
    }
    this.handlers[act]?.();
  }

  #focusables() {
    return [...this.root.querySelectorAll('button:not([hidden]), [tabindex="0"]')];
  }

  #onKeyDown(e) {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      this.handlers.cancel?.();
      return;
    }
    if (e.key !== 'Tab') return;
    // Keep the keyboard inside the dialog while it is open.
    const items = this.#focusables();
    if (items.length === 0) return;
    const active = this.root.activeElement;
    const index = items.indexOf(active);
    e.preventDefault();
    const next = e.shiftKey
      ? items[(index <= 0 ? items.length : index) - 1]
      : items[(index + 1) % items.length];
    next.focus();
  }

  update(u) {
    this.update_ = u;
    const lang = this.lang;
    const set = (name, value) => {
      const el = this.root.querySelector(`[data-v="${name}"]`);
      if (el) el.textContent = value;
    };
    const waiting = u.state === 'waiting' || u.state === 'paused';
    if (u.position !== undefined && (waiting || u.state === 'closed')) {
      set('position', formatNumber(lang, u.position));
      set('people_ahead', formatNumber(lang, u.peopleAhead));
    }
    set(
      'eta',
      u.state === 'waiting' ? formatEtaRange(lang, u.etaSeconds, u.etaRange) : waiting ? text(lang, 'eta_unknown') : '…',
    );
    const progress = this.root.querySelector('progress');
    progress.value = Math.round(u.progress ?? 0);
    progress.textContent = `${Math.round(u.progress ?? 0)}%`;
    set('status', statusText(lang, u));
    this.dialog.dataset.state = u.state;
    this.root.querySelector('[data-act="retry"]').hidden = u.state !== 'network';
    this.root.querySelector('[data-act="rejoin"]').hidden = u.state !== 'expired';
  }

  close() {
    document.removeEventListener('keydown', this.onKey, true);
    this.host.remove();
    if (this.previousFocus && typeof this.previousFocus.focus === 'function') this.previousFocus.focus();
  }
}

// What the live region says for an update, in `lang`.
export function statusText(lang, u) {
  switch (u.state) {
    case 'waiting':
      return text(lang, 'status_waiting', {
        position: formatNumber(lang, u.position),
        eta: formatEtaRange(lang, u.etaSeconds, u.etaRange),
      });
    case 'paused':
      return text(lang, 'status_paused');
    case 'closed':
      return text(lang, 'status_closed');
    case 'full':
      return text(lang, 'status_full');
    case 'admitted': {
      const max = u.answer?.sessionMaxSeconds;
      if (typeof max === 'number' && max > 0) {
        return text(lang, 'status_admitted_limit', { duration: formatDuration(lang, max) });
      }
      return text(lang, 'status_admitted');
    }
    case 'expired':
      return text(lang, 'status_expired');
    case 'network':
      return text(lang, 'status_network', { seconds: Math.max(1, Math.ceil((u.retryInMs ?? 1000) / 1000)) });
    case 'not_found':
      return text(lang, 'status_not_found');
    case 'error':
      return text(lang, 'status_error');
    case 'left':
      return text(lang, 'status_left');
    default:
      return text(lang, 'status_connecting');
  }
}

// ---------------------------------------------------------------------------------------------
// The public functions

const entering = new Map();

function tokenExpired(token) {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof payload.exp === 'number' && payload.exp * 1000 <= Date.now();
  } catch {
    return true;
  }
}

// Takes a place in `room` and resolves with the admission token once admitted (at once when the
// room has space, or when this tab already holds a live session). Options:
//   userId     the visitor's id in your system: a hint (statistics), never proof of a place
//   userToken  with signed identities: the platform's token for the user (a string, or a
//              function that gives a fresh one); the same user then gets the same place back
//   onUpdate   called with every update (see Waiter) — to draw your own waiting UI
//   overlay    true: show the waiting dialog (Korean or English, with Cancel) while waiting
//   lang       'ko' or 'en' for the overlay (default: the page's language)
//   signal     an AbortSignal: aborting cancels waiting like the Cancel button
// Rejects with VwrError: 'cancelled' (Cancel, Escape or signal: the place is given up),
// 'room_not_found', 'expired' (without overlay), 'unavailable'.
// Calling enter() again for a room while it waits returns the same promise.
export function enter(room, options = {}) {
  if (entering.has(room)) return entering.get(room);
  const promise = enterOnce(room, options).finally(() => entering.delete(room));
  entering.set(room, promise);
  return promise;
}

async function enterOnce(room, { userId, userToken, onUpdate, overlay = false, lang, signal } = {}) {
  if (signal?.aborted) throw new VwrError('cancelled', 'waiting was cancelled');
  const saved = getToken(room);
  if (saved && !tokenExpired(saved)) {
    try {
      if (await heartbeat(room)) return saved;
    } catch {
      /* the server is busy: go through the line, which waits it out */
    }
  }
  storeOf('session').remove(tokenKey(room));

  let ui = null;
  const waiter = new Waiter(room, {
    userId,
    userToken,
    storage: 'session',
    onExpired: overlay ? 'wait' : 'fail',
    onUpdate: (u) => {
      if (overlay && !ui && u.state !== 'admitted' && u.state !== 'joining') {
        ui = new Overlay(room, {
          lang,
          onCancel: () => waiter.leave(),
          onRetry: () => waiter.retryNow(),
          onRejoin: () => waiter.rejoin(),
        });
      }
      ui?.update(u);
      try {
        onUpdate?.(u);
      } catch (e) {
        console.error('vwr: onUpdate failed', e);
      }
    },
  });
  const onAbort = () => waiter.leave();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const answer = await waiter.start();
    return answer.token;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    ui?.close();
  }
}

// The admission token this tab holds for `room`, or null.
export function getToken(room) {
  return storeOf('session').get(tokenKey(room));
}

// Keeps the session alive (call it while the visitor is active, well within the room's
// session_timeout). Resolves true while the session lasts, false once it has ended (the token is
// then forgotten); rejects with VwrError 'unavailable' when the server cannot answer.
export async function heartbeat(room) {
  const token = getToken(room);
  if (!token) return false;
  const res = await request(apiUrl(room, 'heartbeat'), {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
  });
  if (res.ok) {
    // The cap on time inside as the room's policy says now (an operator may change it).
    const ends = Number.parseInt(res.headers.get('X-VWR-Session-Ends-At') ?? '', 10);
    rememberSessionEnd(room, Number.isFinite(ends) ? ends : null);
    return true;
  }
  if (res.status === 404 || res.status === 401) {
    storeOf('session').remove(tokenKey(room));
    storeOf('session').remove(endsKey(room));
    return false;
  }
  throw new VwrError('unavailable', `heartbeat answered ${res.status}`, res.data);
}

// Gives back a place in line (waiting, or called and not yet claimed) with its ticket: POST
// leave with X-VWR-Ticket. Answered 204 also when there was nothing left to give back.
async function withdraw(room, ticket) {
  const res = await request(apiUrl(room, 'leave'), { method: 'POST', headers: { 'X-VWR-Ticket': ticket } });
  if (!res.ok && res.status !== 401 && res.status !== 404) {
    throw new VwrError('unavailable', `leave answered ${res.status}`, res.data);
  }
}

// Ends the session (the place goes to the next person at once), or gives back the place in line
// this tab holds, and forgets the token and the ticket of `room`. Resolves when the server has
// answered.
export async function leave(room) {
  const token = getToken(room);
  const ticket = storeOf('session').get(ticketKey(room));
  storeOf('session').remove(tokenKey(room));
  storeOf('session').remove(ticketKey(room));
  storeOf('session').remove(endsKey(room));
  if (!token) {
    if (ticket) await withdraw(room, ticket);
    return;
  }
  const res = await request(apiUrl(room, 'leave'), {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!res.ok && res.status !== 401 && res.status !== 404) {
    throw new VwrError('unavailable', `leave answered ${res.status}`, res.data);
  }
}

// ---------------------------------------------------------------------------------------------
// Time left inside: rooms with a cap on time inside (session_max) end a session at a fixed time
// from admission, however active its visitor is. watchSession() shows how long is left and
// warns before the end.

// When the warning comes by default: at 2 minutes or 10 % of the cap left, whichever comes
// first, but never for more than the second half of the session.
export function warnBeforeSeconds(maxSeconds) {
  if (!(maxSeconds > 0)) return 120;
  return Math.min(Math.max(120, maxSeconds * 0.1), maxSeconds / 2);
}

const BANNER_CSS = `
:host { all: initial; }
.banner {
  position: fixed; z-index: 2147483645; right: .75rem; bottom: .75rem; max-width: calc(100vw - 1.5rem);
  box-sizing: border-box; padding: .6rem .9rem; border-radius: 12px; background: #14171f; color: #fff;
  box-shadow: 0 8px 30px rgba(0, 0, 0, .25);
  font: 15px/1.45 system-ui, -apple-system, "Apple SD Gothic Neo", "Malgun Gothic", "Noto Sans KR",
    "Noto Sans CJK KR", "Segoe UI", Roboto, Arial, sans-serif;
  word-break: keep-all; overflow-wrap: anywhere;
}
.banner[data-state="warning"] { background: #fff6dc; color: #4a3500; border: 2px solid #e2b33b; }
.banner[data-state="ended"] { background: #fde8e8; color: #7a1111; border: 2px solid #d64545; }
.left { font-variant-numeric: tabular-nums; font-weight: 700; }
.warning { margin: .25rem 0 0; font-weight: 600; }
.warning:empty { display: none; }
`;

// A small box in a corner of the page: the time left, and the warning before the end.
class SessionBanner {
  constructor(lang) {
    this.lang = lang;
    this.host = document.createElement('div');
    this.host.setAttribute('data-vwr-session', '');
    this.root = this.host.attachShadow({ mode: 'open' });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(BANNER_CSS);
      this.root.adoptedStyleSheets = [sheet];
    } catch {
      const style = document.createElement('style');
      style.textContent = BANNER_CSS;
      this.root.append(style);
    }
    this.box = document.createElement('div');
    this.box.className = 'banner';
    this.box.setAttribute('lang', lang);
    this.left = document.createElement('div');
    this.left.className = 'left';
    // Read out only when it changes state (the warning, the end), not every second.
    this.warning = document.createElement('p');
    this.warning.className = 'warning';
    this.warning.setAttribute('role', 'alert');
    this.box.append(this.left, this.warning);
    this.root.append(this.box);
    document.body.append(this.host);
  }

  update(u) {
    this.box.dataset.state = u.state;
    this.left.textContent = u.state === 'ended'
      ? text(this.lang, 'session_ended')
      : text(this.lang, 'session_left', { time: formatClock(u.secondsLeft) });
    const warning = u.state === 'warning' ? text(this.lang, 'session_warning') : '';
    if (this.warning.textContent !== warning) this.warning.textContent = warning;
  }

  close() {
    this.host.remove();
  }
}

// Shows how long the session this tab holds in `room` has left, and warns before it ends.
// Reports { state, secondsLeft, endsAt, maxSeconds } to onUpdate every second, where state is
//   inside    time left, no warning yet
//   warning   the end is near (warnBeforeSeconds, or the option of that name)
//   ended     the time is up (the protected service refuses the token from now on)
//   none      the room sets no cap on time inside (or there is no session): nothing to show
// Options: banner (default true: a small box in a corner of the page, Korean or English),
// lang, onUpdate, warnBeforeSeconds, heartbeatMs (default 60 s; 0: none) — the heartbeats keep
// an idle session alive and bring the end as the room's policy says now. Returns { stop() }.
export function watchSession(room, { banner = true, lang, onUpdate, warnBeforeSeconds: warnAt, heartbeatMs = 60000 } = {}) {
  const language = pickLang(lang);
  let ui = null;
  let last = null;
  const tick = () => {
    const end = sessionEnd(room);
    let u;
    if (!end) {
      u = { state: 'none', secondsLeft: null, endsAt: null, maxSeconds: null };
    } else {
      const secondsLeft = Math.max(0, Math.ceil((end.endsAt - Date.now()) / 1000));
      const warn = typeof warnAt === 'number' ? warnAt : warnBeforeSeconds(end.maxSeconds);
      const state = secondsLeft <= 0 ? 'ended' : secondsLeft <= warn ? 'warning' : 'inside';
      u = { state, secondsLeft, endsAt: new Date(end.endsAt), maxSeconds: end.maxSeconds };
    }
    if (banner && u.state !== 'none' && !ui && globalThis.document) ui = new SessionBanner(language);
    if (ui && u.state === 'none') {
      ui.close();
      ui = null;
    }
    ui?.update(u);
    if (last && last.state === u.state && last.secondsLeft === u.secondsLeft) return;
    last = u;
    try {
      onUpdate?.(u);
    } catch (e) {
      console.error('vwr: onUpdate failed', e);
    }
  };
  tick();
  const clock = setInterval(tick, 1000);
  const beat = heartbeatMs > 0
    ? setInterval(() => {
        if (last?.state === 'ended') return;
        heartbeat(room).then(tick, () => {});
      }, heartbeatMs)
    : null;
  return {
    stop() {
      clearInterval(clock);
      if (beat) clearInterval(beat);
      ui?.close();
      ui = null;
    },
  };
}
