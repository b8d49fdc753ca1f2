// The operator console (docs/console.md): one page on the admin listener, talking to the admin
// API with the session cookie and its CSRF token. Every text that comes from the server (room
// names, messages, list entries, audit values) is put into the page as text (textContent),
// never as HTML, and the Content-Security-Policy forbids inline script besides.
'use strict';

(() => {
  const TEXTS = {
    en: {
      'nav.overview': 'Overview', 'nav.stats': 'Statistics', 'nav.protection': 'Protection',
      'nav.audit': 'Audit log', 'nav.operators': 'Operators', signout: 'Sign out',
      lang: '한국어', 'signin.title': 'Sign in to the console',
      'signin.token': 'Admin or operator token', 'signin.submit': 'Sign in',
      'signin.failed': 'Sign-in refused: {0}', room: 'Room', mode: 'Mode', waiting: 'Waiting',
      active: 'Active / max', rate: 'Admissions/s (admit_rate)', eta: 'Newcomer ETA',
      requests: 'Requests/s', surge: 'Surge', control: 'Automatic control', off: 'off',
      none: '—', yes: 'yes', 'overview.title': 'Rooms',
      'room.live': 'Live (last 15 minutes, 1 s)', 'room.controls': 'Controls',
      'chart.requests': 'Requests per second by endpoint', 'chart.entries':
          'Entries and admissions per second vs admit_rate',
      'chart.queue': 'Queue size', 'chart.active': 'Active vs max_active',
      'chart.wait': 'Wait time p50 / p95 (s)', apply: 'Apply', pause: 'Pause',
      resume: 'Resume (fifo)', message: 'Page message', 'message.set': 'Set message',
      'message.reset': 'Reset to configured', saved: 'Saved', 'error': 'Error: {0}',
      'signals.title': 'Rules and signals',
      'signals.none': 'No automatic control is configured on this node.',
      'stats.title': 'Statistics', range: 'Range', 'range.hour': 'Last hour',
      'range.day': 'Last day', 'range.week': 'Last week', 'range.custom': 'Custom', from: 'From',
      to: 'To', step: 'Step', show: 'Show', csv: 'Download CSV', 'stats.peaks': 'Busiest hours',
      'stats.top.pageUrl': 'Top pages', 'stats.top.ip': 'Top clients',
      'stats.top.userAgent': 'Top user agents', count: 'Count', share: 'Share', start: 'Start',
      value: 'Requests', 'protection.title': 'Abuse protection', list: 'List', entry: 'Entry',
      source: 'Source', expires: 'Expires', add: 'Add', remove: 'Remove', ttl: 'TTL (s)',
      'audit.title': 'Audit log', time: 'Time', operator: 'Operator', address: 'Address',
      action: 'Action', actions: 'Actions', before: 'Before', after: 'After', search: 'Search',
      text: 'Text',
      'operators.title': 'Operators', name: 'Name', role: 'Role', origin: 'Origin',
      'operators.token': 'Token for {0} (shown once, copy it now): ',
      'viewer.note': 'You are a viewer: you can see everything and change nothing.',
      'confirm.remove': 'Remove {0}?', 'sessions.endAll': 'End all sessions',
      'confirm.endAll': 'End all {0} sessions of room {1}? Everyone admitted has to queue again, '
          + 'and their tokens stop working within a second.',
      'sessions.ended': '{0} sessions ended',
      'duration.note': 'session_timeout and session_max are durations as in the configuration '
          + '(90s, 10m, 2h); session_max 0s means no cap.',
      'nav.rules': 'Rules and signals', 'live.live': 'Live', 'live.reconnecting':
          'Live stream lost, reconnecting…', 'live.polling': 'Live stream unavailable: polling',
      'auto.title': 'Automatic control', 'auto.enabled': 'Automatic control on', on: 'on',
      'auto.bounds.max_active': 'max_active from / to', 'auto.bounds.admit_rate':
          'admit_rate from / to', 'auto.min': 'lowest', 'auto.max': 'highest',
      'auto.apply': 'Apply automatic control', 'auto.missing':
          'This node cannot switch automatic control (PUT /admin/api/v1/control/{room} is '
          + 'not there).', 'auto.state': 'State: {0}', 'auto.worst': 'worst signal / target: {0}',
      'auto.last': 'Last decision {0}: {1}', 'room.signals': 'What drives this room',
      'room.rules': 'Rules of this room', 'rules.more': 'All rules, signals and decisions',
      'signals.list': 'Signals', signal: 'Signal', 'signal.value': 'Value', kind: 'Kind',
      age: 'Age', state: 'State',
      'last.error': 'Last error', target: 'Target', 'rules.list': 'Rules', rule: 'Rule',
      'last.fired': 'Last fired', 'holding.since': 'Condition true since',
      'decisions.title': 'Decisions (newest first)', 'decisions.none': 'No decisions yet.',
      'signals.empty': 'No signals are configured.', 'rules.empty': 'No rules are configured.',
      'rooms.all': 'All rooms', 'state.idle': 'idle', 'state.pending': 'pending',
      'state.firing': 'firing', 'state.shadow': 'shadow', 'state.ok': 'ok',
      'state.unknown': 'unknown', 'state.error': 'error', change: 'Change', reason: 'Reason',
      seen: 'Signals seen', 'shadow.note': 'shadow: recorded, nothing changed',
      worst: 'Worst signal / target', 'controlled.rooms': 'Rooms under automatic control',
      'decisions.chart':
          'max_active and admit_rate set by decisions',
    },
    ko: {
      'nav.overview': '개요', 'nav.stats': '통계', 'nav.protection': '차단 관리',
      'nav.audit': '감사 로그', 'nav.operators': '운영자', signout: '로그아웃', lang: 'English',
      'signin.title': '콘솔 로그인', 'signin.token': '관리자 또는 운영자 토큰',
      'signin.submit': '로그인', 'signin.failed': '로그인 거부: {0}', room: '방', mode: '모드',
      waiting: '대기', active: '활성 / 최대', rate: '초당 입장 (admit_rate)',
      eta: '신규 예상 대기', requests: '초당 요청', surge: '급증', control: '자동 제어',
      off: '꺼짐', none: '—', yes: '예', 'overview.title': '방 목록',
      'room.live': '실시간 (최근 15분, 1초)', 'room.controls': '제어',
      'chart.requests': '엔드포인트별 초당 요청', 'chart.entries': '초당 진입·입장과 admit_rate',
      'chart.queue': '대기열 크기', 'chart.active': '활성과 max_active',
      'chart.wait': '대기 시간 p50 / p95 (초)', apply: '적용', pause: '일시 정지',
      resume: '재개 (fifo)', message: '페이지 메시지', 'message.set': '메시지 설정',
      'message.reset': '설정 파일 값으로', saved: '저장됨', 'error': '오류: {0}',
      'signals.title': '규칙과 신호', 'signals.none': '이 노드에는 자동 제어가 설정되어 있지 않습니다.',
      'stats.title': '통계', range: '기간', 'range.hour': '최근 1시간', 'range.day': '최근 1일',
      'range.week': '최근 1주', 'range.custom': '직접 지정', from: '시작', to: '끝', step: '간격',
      show: '보기', csv: 'CSV 내려받기', 'stats.peaks': '가장 붐빈 시간',
      'stats.top.pageUrl': '상위 페이지', 'stats.top.ip': '상위 클라이언트',
      'stats.top.userAgent': '상위 사용자 에이전트', count: '건수', share: '비율', start: '시작',
      value: '요청', 'protection.title': '차단 관리', list: '목록', entry: '항목', source: '출처',
      expires: '만료', add: '추가', remove: '삭제', ttl: 'TTL (초)', 'audit.title': '감사 로그',
      time: '시각', operator: '운영자', address: '주소', action: '작업', actions: '관리', before: '이전',
      after: '이후', search: '검색', text: '내용', 'operators.title': '운영자', name: '이름',
      role: '역할', origin: '출처', 'operators.token': '{0}의 토큰 (한 번만 표시됩니다, 지금 복사하세요): ',
      'viewer.note': '조회 전용 역할입니다: 모든 것을 볼 수 있지만 바꿀 수는 없습니다.',
      'confirm.remove': '{0}을(를) 삭제할까요?', 'sessions.endAll': '모든 세션 종료',
      'confirm.endAll': '{1} 방의 세션 {0}개를 모두 종료할까요? 입장한 사람은 모두 다시 줄을 '
          + '서야 하며, 토큰은 1초 안에 더 이상 통하지 않습니다.',
      'sessions.ended': '세션 {0}개를 종료했습니다',
      'duration.note': 'session_timeout과 session_max는 설정 파일처럼 기간으로 씁니다 '
          + '(90s, 10m, 2h). session_max 0s는 제한 없음입니다.',
      'nav.rules': '규칙과 신호', 'live.live': '실시간', 'live.reconnecting':
          '실시간 연결이 끊겨 다시 연결하는 중…', 'live.polling': '실시간 연결 불가: 주기 조회 중',
      'auto.title': '자동 제어', 'auto.enabled': '자동 제어 켜기', on: '켜짐',
      'auto.bounds.max_active': 'max_active 범위', 'auto.bounds.admit_rate': 'admit_rate 범위',
      'auto.min': '최저', 'auto.max': '최고', 'auto.apply': '자동 제어 적용',
      'auto.missing': '이 노드에서는 자동 제어를 켜고 끌 수 없습니다 '
          + '(PUT /admin/api/v1/control/{room} 없음).',
      'auto.state': '상태: {0}', 'auto.worst': '가장 나쁜 신호 / 목표: {0}',
      'auto.last': '마지막 결정 {0}: {1}', 'room.signals': '이 방을 움직이는 것',
      'room.rules': '이 방의 규칙', 'rules.more': '모든 규칙, 신호, 결정 보기',
      'signals.list': '신호', signal: '신호', 'signal.value': '값', kind: '종류', age: '경과',
      state: '상태',
      'last.error': '마지막 오류', target: '목표', 'rules.list': '규칙', rule: '규칙',
      'last.fired': '마지막 발동', 'holding.since': '조건 충족 시작',
      'decisions.title': '결정 (최신순)', 'decisions.none': '아직 결정이 없습니다.',
      'signals.empty': '설정된 신호가 없습니다.', 'rules.empty': '설정된 규칙이 없습니다.',
      'rooms.all': '모든 방', 'state.idle': '대기', 'state.pending': '조건 충족 중',
      'state.firing': '발동', 'state.shadow': '섀도', 'state.ok': '정상',
      'state.unknown': '알 수 없음', 'state.error': '오류', change: '변경', reason: '이유',
      seen: '본 신호', 'shadow.note': '섀도: 기록만 하고 바꾸지 않음',
      worst: '가장 나쁜 신호 / 목표', 'controlled.rooms': '자동 제어 중인 방',
      'decisions.chart':
          '결정이 정한 max_active와 admit_rate',
    },
  };
  const stored = localStorage.getItem('vwr.console.lang');
  let lang = stored || ((navigator.language || 'en').toLowerCase().startsWith('ko') ? 'ko' : 'en');
  const t = (key, ...args) =>
    (TEXTS[lang][key] ?? TEXTS.en[key] ?? key).replace(/\{(\d)\}/g, (_, i) => String(args[i]));

  const state = { operator: null, role: null, csrf: '' };
  const canChange = () => state.role === 'operator' || state.role === 'admin';
  // Switching a room's automatic control and its bounds (PUT /admin/api/v1/control/{room}):
  // running an event, like its limits, so operators and admins (admin/roles.cpp).
  const canControl = canChange;
  let stopView = () => {};

  // ---- DOM helpers: text only ----
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  const main = () => document.getElementById('main');
  function show(...nodes) {
    main().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
  }
  function toast(text, bad) {
    const box = document.getElementById('toast');
    box.textContent = text;
    box.className = bad ? 'bad shown' : 'shown';
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.className = ''; }, 4000);
  }
  // A table in a box that scrolls sideways on a narrow window; the box takes the keyboard focus
  // (tabindex 0), so that it can be scrolled without a mouse, and is named for screen readers.
  // `wide`: the table keeps a width of its own (and scrolls) rather than squeezing its
  // columns on a phone.
  function table(label, headers, rows, wide) {
    return el('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': label },
        el('table', { class: wide ? 'wide' : null },
        el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c)))))));
  }
  function field(label, input) {
    return el('label', { class: 'field' }, el('span', { text: label }), input);
  }

  // ---- the admin API ----
  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
    const res = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    if (res.status === 401 && path !== '/admin/api/v1/session') {
      state.operator = null;
      route();
    }
    if (!res.ok) {
      const why = data && data.error ? data.error.message : res.statusText;
      throw Object.assign(new Error(why), { status: res.status });
    }
    return data;
  }
  const nowS = () => Math.floor(Date.now() / 1000);
  const qs = (o) => new URLSearchParams(o).toString();

  // ---- charts (uPlot) ----
  function chart(container, title, names, data, opts) {
    container.replaceChildren(el((opts && opts.heading) || 'h3', { text: title }));
    if (!window.uPlot) return null;
    const colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];
    const width = Math.max(280, Math.min(container.clientWidth || 600, 900) - 8);
    return new window.uPlot({
      width, height: 200,
      series: [{}, ...names.map((n, i) => ({ label: n, stroke: colors[i % colors.length],
        width: 1.5, dash: opts && opts.dashed && opts.dashed.includes(n) ? [6, 4] : undefined }))],
      axes: [{}, { size: 56 }], legend: { live: false },
    }, data, container);
  }
  function seriesData(answer, names) {
    const first = answer.series[names[0]] || [];
    return [first.map((p) => p[0]), ...names.map((n) => (answer.series[n] || []).map((p) => p[1]))];
  }

  // ---- the live stream ----
  // One GET /admin/api/v1/live (Server-Sent Events) for the page while a view listens: an
  // `event: stats` each second with every room's figures of the second just closed. A stream
  // that errs, or stays silent for LIVE_SILENCE_MS (a proxy that buffers it), is closed and
  // opened again after a backoff that doubles from LIVE_BACKOFF_MS up to LIVE_BACKOFF_MAX_MS.
  // After LIVE_FAILURES failures in a row without an event in between, the console reads the
  // same figures from the stats API once a second instead, and tries the stream again every
  // LIVE_RETRY_MS. The state is shown at the top (#live, data-state live|reconnecting|polling).
  const LIVE_BACKOFF_MS = 500;
  const LIVE_BACKOFF_MAX_MS = 8000;
  const LIVE_FAILURES = 3;
  const LIVE_SILENCE_MS = 5000;
  const LIVE_RETRY_MS = 10000;
  const LIVE_METRICS = ['requests', 'status_polls', 'tracer_polls', 'joins', 'admitted_now',
    'queued', 'rejected', 'full', 'bypassed', 'admitted_from_line', 'leaves', 'idle_timeouts',
    'no_shows', 'withdrawn', 'blocked', 'server_errors', 'waiting', 'called', 'active',
    'max_active', 'admit_rate'];
  const live = {
    listeners: new Set(),
    source: null,      // the EventSource, while one is open
    failures: 0,       // failures since the last event
    state: 'off',      // off | connecting | live | reconnecting | polling
    timers: [],
    watchdog: null,
    rooms: [],         // the rooms polled while the stream is unavailable

    // Calls `listener(event)` with each second's figures until the returned function is called.
    listen(listener) {
      this.listeners.add(listener);
      if (this.listeners.size === 1) this.start();
      return () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0) this.stop();
      };
    },
    deliver(event) {
      for (const listener of this.listeners) {
        try { listener(event); } catch (err) { toast(t('error', err.message), true); }
      }
    },
    show(state) {
      this.state = state;
      const badge = document.getElementById('live');
      badge.hidden = state === 'off';
      badge.dataset.state = state;
      badge.textContent = state === 'polling' ? t('live.polling')
        : state === 'reconnecting' ? t('live.reconnecting') : t('live.live');
    },
    later(fn, ms) { this.timers.push(setTimeout(fn, ms)); },
    clearTimers() {
      for (const id of this.timers) clearTimeout(id);
      this.timers = [];
      clearTimeout(this.watchdog);
    },
    start() {
      this.failures = 0;
      this.show('connecting');
      this.open();
    },
    stop() {
      this.clearTimers();
      this.close();
      this.show('off');
    },
    close() {
      if (this.source) this.source.close();
      this.source = null;
    },
    open() {
      this.close();
      const source = new EventSource('/admin/api/v1/live');
      this.source = source;
      this.guard();
      source.addEventListener('stats', (message) => {
        if (source !== this.source) return;
        let event;
        try { event = JSON.parse(message.data); } catch { return this.failed(); }
        this.failures = 0;
        if (this.state !== 'live') {
          this.clearTimers();  // a stream that came back ends the polling
          this.show('live');
        }
        this.guard();
        this.deliver(event);
      });
      // EventSource would reconnect by itself at once and for ever: the console does it, with
      // a backoff, and knows when to give up on the stream.
      source.addEventListener('error', () => { if (source === this.source) this.failed(); });
    },
    guard() {
      clearTimeout(this.watchdog);
      this.watchdog = setTimeout(() => this.failed(), LIVE_SILENCE_MS);
    },
    failed() {
      this.close();
      clearTimeout(this.watchdog);
      if (this.state === 'polling') return;  // a retry of the stream failed: keep polling
      this.failures += 1;
      if (this.failures >= LIVE_FAILURES) return this.startPolling();
      this.show('reconnecting');
      const wait = Math.min(LIVE_BACKOFF_MAX_MS, LIVE_BACKOFF_MS * 2 ** (this.failures - 1));
      this.later(() => this.open(), wait);
    },
    startPolling() {
      this.show('polling');
      const poll = async () => {
        if (this.state !== 'polling') return;
        try {
          this.deliver(await this.pollOnce());
        } catch (err) {
          if (err.status !== 401) toast(t('error', err.message), true);
        }
        if (this.state === 'polling') this.later(poll, 1000);
      };
      const retry = () => {
        if (this.state !== 'polling') return;
        this.open();
        this.later(retry, LIVE_RETRY_MS);
      };
      poll();
      this.later(retry, LIVE_RETRY_MS);
    },
    // The live event's shape, from the stats API: the last closed second of every room.
    async pollOnce() {
      const { rooms } = await api('GET', '/admin/api/v1/rooms');
      const to = nowS();
      const answers = await Promise.all(rooms.map((r) => api('GET', '/admin/api/v1/stats?'
        + qs({ room: r.policy.room, step: '1s', from: to - 2, to: to - 1,
          metrics: LIVE_METRICS.concat('surges').join(',') })).catch(() => null)));
      const event = { t: to - 2, rooms: {}, surges: [], polled: true };
      rooms.forEach((r, i) => {
        if (!answers[i]) return;
        const figures = {};
        for (const [name, points] of Object.entries(answers[i].series)) {
          figures[name] = points.length ? points[points.length - 1][1] : 0;
        }
        figures.surge = { active: figures.surges > 0 };
        if (figures.surges > 0) event.surges.push(r.policy.room);
        event.rooms[r.policy.room] = figures;
      });
      return event;
    },
  };

  // Automatic control as the admin API shows it: GET /admin/api/v1/control's rooms, by name.
  async function controlStates(room) {
    const answer = await api('GET', '/admin/api/v1/control?'
      + qs(room ? { room, limit: 20 } : { limit: 1 })).catch(() => null);
    const byRoom = {};
    for (const r of (answer && answer.rooms) || []) byRoom[r.room] = r;
    return { byRoom, decisions: (answer && answer.decisions) || [] };
  }
  // Whether a room's controller is switched on: the API's `enabled` where it says so, else
  // whether the room is under automatic control at all.
  const controlOn = (c) => !!c && c.enabled !== false;
  const admissions = (f) => (f.admitted_now || 0) + (f.admitted_from_line || 0);
  const etaText = (r) => (r.newcomerEtaSeconds === undefined ? t('none')
    : r.newcomerEtaSeconds + ' s');
  // How often the facts the live event does not carry (mode, ETA, control state) are read.
  const FACTS_MS = 5000;
  // A live view counts as drawn (main[data-ready]) at its first event, or after this long.
  const FIRST_EVENT_MS = 3000;

  // ---- views ----
  function signInView() {
    const input = el('input', { type: 'password', id: 'token', autocomplete: 'current-password',
      required: true, 'aria-describedby': 'signin-error' });
    const error = el('p', { id: 'signin-error', class: 'bad', role: 'alert' });
    const form = el('form', { class: 'card signin', on: { submit: async (e) => {
      e.preventDefault();
      try {
        const who = await api('POST', '/admin/api/v1/session', { token: input.value });
        Object.assign(state, { operator: who.operator, role: who.role, csrf: who.csrf_token });
        input.value = '';
        route();
      } catch (err) {
        error.textContent = t('signin.failed', err.message);
      }
    } } }, el('h1', { text: t('signin.title') }), field(t('signin.token'), input),
    el('button', { type: 'submit', text: t('signin.submit') }), error);
    show(form);
  }

  async function overviewView() {
    const body = el('div', { class: 'rooms' });
    show(el('h1', { text: t('overview.title') }),
        state.role === 'viewer' ? el('p', { class: 'note', text: t('viewer.note') }) : null, body);
    let alive = true;
    let timer = null;
    let unlisten = () => {};
    stopView = () => { alive = false; clearTimeout(timer); unlisten(); };
    let rooms = [];        // GET /admin/api/v1/rooms: policy, ETA (every FACTS_MS)
    let control = {};      // automatic control by room (every FACTS_MS)
    let latest = null;     // the last live event
    const draw = () => {
      body.replaceChildren(table(t('overview.title'),
          [t('room'), t('mode'), t('waiting'), t('active'), t('rate'), t('eta'), t('requests'),
           t('surge'), t('control')],
          rooms.map((r) => {
            const p = r.policy;
            const f = (latest && latest.rooms[p.room]) || null;
            const c = control[p.room];
            return [
              el('a', { href: '#/room/' + encodeURIComponent(p.room), class: 'room-link',
                text: p.room }),
              el('span', { class: 'mode mode-' + p.mode, text: p.mode }),
              el('span', { class: 'num', 'data-figure': 'waiting',
                text: f ? f.waiting : r.queueSize }),
              el('span', { class: 'num', 'data-figure': 'active',
                text: (f ? f.active : r.active) + ' / ' + (f ? f.max_active : p.max_active) }),
              el('span', { class: 'num', 'data-figure': 'admissions',
                text: (f ? admissions(f) : r.advanceRate.toFixed(1)) + ' ('
                  + (f ? f.admit_rate : p.admit_rate) + ')' }),
              etaText(r),
              el('span', { class: 'num', 'data-figure': 'requests',
                text: f ? f.requests : t('none') }),
              f && f.surge && f.surge.active ? el('strong', { class: 'bad', text: t('yes') })
                : t('none'),
              el('span', { 'data-figure': 'control',
                text: controlOn(c) ? t('on') + (c.state ? ' (' + c.state + ')' : '') : t('off') }),
            ];
          })));
      body.dataset.second = latest ? String(latest.t) : '';
    };
    const facts = async () => {
      try {
        const [answer, states] = await Promise.all([api('GET', '/admin/api/v1/rooms'),
          controlStates()]);
        if (!alive) return;
        rooms = answer.rooms;
        control = states.byRoom;
        draw();
      } catch (err) {
        if (alive) toast(t('error', err.message), true);
      }
      if (alive) timer = setTimeout(facts, FACTS_MS);
    };
    await facts();
    if (!alive) return;
    await new Promise((drawn) => {
      unlisten = live.listen((event) => {
        latest = event;
        if (alive) draw();
        drawn();
      });
      setTimeout(drawn, FIRST_EVENT_MS);
    });
  }

  // The last `span` seconds of a room, one row of figures per second: read from the stats API
  // when the page opens, then one row from each live event. The series the live event does not
  // carry (requests by endpoint other than polls and joins, wait times) are read again from the
  // stats API every FACTS_MS for the last SIDE_SECONDS, so they trail by a few seconds.
  const SIDE_SECONDS = 30;
  class RoomWindow {
    constructor(span) { this.span = span; this.rows = new Map(); }
    put(t, figures) { this.rows.set(t, Object.assign(this.rows.get(t) || {}, figures)); }
    putSeries(answer) {
      for (const [name, points] of Object.entries(answer.series)) {
        for (const [t, v] of points) this.put(t, { [name]: v });
      }
    }
    data(names) {
      const times = [...this.rows.keys()].sort((a, b) => a - b);
      const last = times.length ? times[times.length - 1] : 0;
      for (const t of times) if (t <= last - this.span) this.rows.delete(t);
      const kept = times.filter((t) => t > last - this.span);
      return [kept, ...names.map((n) => kept.map((t) => this.rows.get(t)[n] ?? null))];
    }
  }

  async function roomView(room) {
    let alive = true;
    let timer = null;
    let unlisten = () => {};
    stopView = () => { alive = false; clearTimeout(timer); unlisten(); };
    const figures = el('div', { class: 'figures' });
    const charts = ['requests', 'entries', 'queue', 'active', 'wait']
      .map((k) => el('div', { class: 'chart', id: 'chart-' + k }));
    const controls = el('section', { class: 'card', id: 'controls' });
    const automatic = el('section', { class: 'card', id: 'automatic' });
    const drivers = el('section', { class: 'card', id: 'drivers' });
    show(el('h1', {}, el('a', { href: '#/', text: t('nav.overview') }), ' › ', room),
        figures, el('h2', { text: t('room.live') }), el('div', { class: 'charts' }, charts),
        controls, automatic, drivers);
    const path = '/admin/api/v1/rooms/' + encodeURIComponent(room);
    const put = async (change) => {
      try {
        await api('PUT', path + '/policy', change);
        toast(t('saved'));
        await drawControls();
      } catch (err) { toast(t('error', err.message), true); }
    };
    const drawControls = async () => {
      const policy = await api('GET', path + '/policy');
      const msg = await api('GET', path + '/message').catch(() => ({ message: '' }));
      const parts = [el('h2', { text: t('room.controls') })];
      if (!canChange()) {
        parts.push(el('p', { class: 'note', text: t('viewer.note') }));
        parts.push(table(t('room.controls'),
            [t('mode'), 'max_active', 'admit_rate', 'session_timeout', 'session_max',
             t('message')],
            [[policy.mode, policy.max_active, policy.admit_rate, policy.session_timeout,
              policy.session_max, msg.message]]));
        controls.replaceChildren(...parts);
        return;
      }
      const mode = el('select', { id: 'mode' },
          ['fifo', 'passthrough', 'reject', 'pause'].map((m) =>
            el('option', { value: m, selected: m === policy.mode, text: m })));
      const maxActive = el('input', { id: 'max_active', type: 'number', min: 1,
        value: policy.max_active });
      const admitRate = el('input', { id: 'admit_rate', type: 'number', min: 0, step: 'any',
        value: policy.admit_rate });
      const timeout = el('input', { id: 'session_timeout', value: policy.session_timeout,
        'aria-describedby': 'duration-note' });
      const sessionMax = el('input', { id: 'session_max', value: policy.session_max,
        'aria-describedby': 'duration-note' });
      const message = el('input', { id: 'message', value: msg.message || '', maxlength: 500 });
      parts.push(el('form', { class: 'grid', on: { submit: (e) => {
        e.preventDefault();
        put({ mode: mode.value, max_active: Number(maxActive.value),
          admit_rate: Number(admitRate.value), session_timeout: timeout.value,
          session_max: sessionMax.value });
      } } }, field(t('mode'), mode), field('max_active', maxActive),
      field('admit_rate', admitRate), field('session_timeout', timeout),
      field('session_max', sessionMax),
      el('button', { type: 'submit', id: 'apply', text: t('apply') })));
      parts.push(el('p', { class: 'note', id: 'duration-note', text: t('duration.note') }));
      parts.push(el('div', { class: 'row' },
          el('button', { type: 'button', class: 'secondary', id: 'pause', text: t('pause'),
            on: { click: () => put({ mode: 'pause' }) } }),
          el('button', { type: 'button', class: 'secondary', id: 'resume', text: t('resume'),
            on: { click: () => put({ mode: 'fifo' }) } })));
      // Apart from the routine buttons, and asked first: everyone inside has to queue again.
      parts.push(el('div', { class: 'row' },
          el('button', { type: 'button', class: 'danger', id: 'end-all',
            text: t('sessions.endAll'), on: { click: async () => {
              try {
                const { rooms } = await api('GET', '/admin/api/v1/rooms');
                const now = rooms.find((x) => x.policy.room === room);
                if (!window.confirm(t('confirm.endAll', now ? now.active : '?', room))) return;
                const done = await api('DELETE', path + '/sessions');
                toast(t('sessions.ended', done.ended));
              } catch (err) { toast(t('error', err.message), true); }
            } } })));
      parts.push(el('form', { class: 'grid', on: { submit: async (e) => {
        e.preventDefault();
        try {
          await api('PUT', path + '/message', { message: message.value });
          toast(t('saved'));
        } catch (err) { toast(t('error', err.message), true); }
      } } }, field(t('message'), message),
      el('button', { type: 'submit', text: t('message.set') }),
      el('button', { type: 'button', class: 'secondary', text: t('message.reset'),
        on: { click: async () => {
          try {
            const m = await api('DELETE', path + '/message');
            message.value = m.message;
            toast(t('saved'));
          } catch (err) { toast(t('error', err.message), true); }
        } } })));
      controls.replaceChildren(...parts);
    };

    // Automatic control: its state, and (operators and admins) on/off with its bounds through
    // PUT /admin/api/v1/control/{room}. The form is drawn once and kept while the state below
    // it is refreshed, so that what an operator is typing is not replaced.
    const autoState = el('div', { id: 'control-state' });
    let autoForm = null;
    const bound = (id, label, value) => el('input', { id, type: 'number', min: 0, step: 'any',
      'aria-label': label, value: value ?? '' });
    const drawAutoForm = (c) => {
      if (!canControl()) return null;
      const enabled = el('input', { type: 'checkbox', id: 'control-enabled',
        checked: controlOn(c) });
      const ma = c && c.max_active ? c.max_active : {};
      const ar = c && c.admit_rate ? c.admit_rate : {};
      const maMin = bound('control-max-active-min', 'max_active ' + t('auto.min'), ma.min);
      const maMax = bound('control-max-active-max', 'max_active ' + t('auto.max'), ma.max);
      const arMin = bound('control-admit-rate-min', 'admit_rate ' + t('auto.min'), ar.min);
      const arMax = bound('control-admit-rate-max', 'admit_rate ' + t('auto.max'), ar.max);
      const note = el('p', { class: 'note', id: 'control-note', role: 'status' });
      const pair = (label, a, b) => el('fieldset', { class: 'bounds' },
          el('legend', { text: label }), a, el('span', { 'aria-hidden': 'true', text: '–' }), b);
      return el('form', { class: 'row', id: 'control-form', on: { submit: async (e) => {
        e.preventDefault();
        const body = { enabled: enabled.checked };
        const range = (lo, hi) => (lo.value !== '' && hi.value !== ''
          ? { min: Number(lo.value), max: Number(hi.value) } : undefined);
        if (range(maMin, maMax)) body.max_active = range(maMin, maMax);
        if (range(arMin, arMax)) body.admit_rate = range(arMin, arMax);
        try {
          await api('PUT', '/admin/api/v1/control/' + encodeURIComponent(room), body);
          note.textContent = '';
          toast(t('saved'));
          await drawAutomatic();
        } catch (err) {
          if (err.status === 404 || err.status === 405) note.textContent = t('auto.missing');
          toast(t('error', err.message), true);
        }
      } } }, el('label', { class: 'check' }, enabled, el('span', { text: t('auto.enabled') })),
      pair(t('auto.bounds.max_active'), maMin, maMax),
      pair(t('auto.bounds.admit_rate'), arMin, arMax),
      el('button', { type: 'submit', id: 'control-apply', text: t('auto.apply') }), note);
    };
    const drawAutomatic = async () => {
      const { byRoom } = await controlStates(room);
      const policy = await api('GET', path + '/policy').catch(() => ({}));
      const c = byRoom[room] || (policy.control && policy.control.automatic ? policy.control
        : null);
      const last = policy.control && policy.control.last_decision;
      autoState.replaceChildren(
          el('p', {}, el('strong', { 'data-figure': 'automatic',
            text: controlOn(c) ? t('on') : t('off') }),
          c && c.state ? ' — ' + t('auto.state', c.state) : '',
          c && typeof c.worst === 'number' ? ' — ' + t('auto.worst', c.worst.toFixed(2)) : ''),
          last ? el('p', { class: 'note', text: t('auto.last',
            new Date(last.at).toLocaleString(lang), last.reason) }) : null);
      if (!autoForm) autoForm = drawAutoForm(c);
      automatic.replaceChildren(el('h2', { text: t('auto.title') }), autoState, autoForm);
    };

    // What drives the room: the rules written for it and the signals, with the targets the
    // control API names (when it does).
    const drawDrivers = async () => {
      const [signals, rules, { byRoom }] = await Promise.all([
        api('GET', '/admin/api/v1/signals'), api('GET', '/admin/api/v1/rules'),
        controlStates(room)]);
      const targets = {};
      for (const x of (byRoom[room] && byRoom[room].targets) || []) targets[x.signal] = x.max;
      const mine = rules.rules.filter((r) => r.room === room);
      drivers.replaceChildren(el('h2', { text: t('room.signals') }),
          signals.signals.length === 0 ? el('p', { class: 'note', text: t('signals.empty') })
            : signalTable(signals.signals, targets),
          el('h3', { text: t('room.rules') }),
          mine.length === 0 ? el('p', { class: 'note', text: t('rules.empty') })
            : ruleTable(mine),
          el('p', {}, el('a', { href: '#/rules', text: t('rules.more') })));
    };

    const plots = {};
    const groups = {
      requests: ['requests_join', 'status_polls', 'requests_heartbeat', 'requests_verify',
        'requests_pages'],
      entries: ['joins', 'admitted_now', 'admitted_from_line', 'admit_rate'],
      queue: ['waiting'], active: ['active', 'max_active'],
      wait: ['wait_time_p50', 'wait_time_p95'],
    };
    const side = ['requests_join', 'requests_heartbeat', 'requests_verify', 'requests_pages',
      'wait_time_p50', 'wait_time_p95'];
    const titles = { requests: 'chart.requests', entries: 'chart.entries', queue: 'chart.queue',
      active: 'chart.active', wait: 'chart.wait' };
    const window15 = new RoomWindow(900);
    let facts = null;  // GET /admin/api/v1/rooms' entry of the room (mode, ETA)
    let latest = null;  // the room's figures of the last live event
    const drawFigures = () => {
      if (!facts) return;
      const f = latest;
      figures.replaceChildren(...[
        ['mode', t('mode'), facts.policy.mode],
        ['waiting', t('waiting'), f ? f.waiting : facts.queueSize],
        ['active', t('active'), (f ? f.active : facts.active) + ' / '
          + (f ? f.max_active : facts.policy.max_active)],
        ['admissions', t('rate'), (f ? admissions(f) : facts.advanceRate.toFixed(1)) + ' ('
          + (f ? f.admit_rate : facts.policy.admit_rate) + ')'],
        ['eta', t('eta'), etaText(facts)],
        ['requests', t('requests'), f ? f.requests : t('none')],
      ].map(([key, k, v]) => el('div', { class: 'figure' }, el('span', { text: k }),
          el('strong', { 'data-figure': key, text: String(v) }))));
    };
    const drawCharts = () => {
      for (const [k, names] of Object.entries(groups)) {
        const data = window15.data(names);
        if (plots[k]) plots[k].setData(data);
        else plots[k] = chart(document.getElementById('chart-' + k), t(titles[k]), names, data,
          { dashed: ['admit_rate', 'max_active'] });
      }
    };
    const refresh = async () => {
      try {
        const to = nowS() + 1;
        const [{ rooms }, recent] = await Promise.all([api('GET', '/admin/api/v1/rooms'),
          api('GET', '/admin/api/v1/stats?' + qs({ room, step: '1s', from: to - SIDE_SECONDS,
            to, metrics: side.join(',') }))]);
        if (!alive) return;
        facts = rooms.find((x) => x.policy.room === room) || facts;
        window15.putSeries(recent);
        drawFigures();
        await Promise.all([drawAutomatic(), drawDrivers()]);
      } catch (err) {
        if (alive) toast(t('error', err.message), true);
      }
      if (alive) timer = setTimeout(refresh, FACTS_MS);
    };
    try {
      const to = nowS() + 1;
      const [, history] = await Promise.all([drawControls(),
        api('GET', '/admin/api/v1/stats?' + qs({ room, step: '1s', from: to - 900, to,
          metrics: Object.values(groups).flat().join(',') }))]);
      window15.putSeries(history);
    } catch (err) {
      toast(t('error', err.message), true);
    }
    if (!alive) return;
    drawCharts();
    await refresh();
    if (!alive) return;
    let drawn = () => {};
    const first = new Promise((resolve) => {
      drawn = resolve;
      setTimeout(resolve, FIRST_EVENT_MS);
    });
    unlisten = live.listen((event) => {
      drawn();
      const f = event.rooms[room];
      if (!f || !alive) return;
      latest = f;
      const row = {};
      for (const name of LIVE_METRICS) if (f[name] !== undefined) row[name] = f[name];
      window15.put(event.t, row);
      figures.dataset.second = String(event.t);
      drawFigures();
      drawCharts();
    });
    await first;
  }

  // ---- rules and signals ----
  const ageText = (ms) => (ms === null || ms === undefined ? t('none')
    : ms < 1000 ? ms + ' ms' : ms < 120000 ? (ms / 1000).toFixed(1) + ' s'
      : Math.round(ms / 60000) + ' min');
  const whenText = (at) => (at ? new Date(at).toLocaleString(lang) : t('none'));
  const badge = (value) => el('span', { class: 'state state-' + value,
    'data-state': value, text: t('state.' + value) === 'state.' + value ? value
      : t('state.' + value) });
  // A rule's state: the API's `state` where it gives one, else from what it reports: shadow;
  // firing (its condition holds and it fired since it began to hold); pending (it holds, for
  // less than its `for`); idle.
  function ruleState(r) {
    if (r.state) return r.state;
    if (r.shadow) return 'shadow';
    if (r.last !== 'true' || !r.holding_since) return 'idle';
    if (r.last_fired && Date.parse(r.last_fired) >= Date.parse(r.holding_since)) return 'firing';
    return 'pending';
  }
  function signalTable(signals, targets) {
    const withTargets = targets && Object.keys(targets).length > 0;
    return table(t('signals.list'),
        [t('signal'), t('kind'), t('signal.value'), t('age'), t('state'), t('last.error')]
          .concat(withTargets ? [t('target')] : []),
        signals.map((s) => [
          el('span', { 'data-signal': s.name, text: s.name }), s.kind,
          el('span', { class: 'num', text: s.value === null ? t('none') : String(s.value) }),
          ageText(s.age_ms), badge(s.state),
          s.error ? el('code', { class: 'bad', text: s.error }) : t('none'),
        ].concat(withTargets ? [targets[s.name] === undefined ? t('none')
          : '≤ ' + targets[s.name]] : [])), true);
  }
  function ruleTable(rules) {
    return table(t('rules.list'),
        [t('rule'), t('room'), t('state'), t('last.fired'), t('holding.since')],
        rules.map((r) => [el('span', { 'data-rule': r.name, text: r.name }), r.room,
          badge(ruleState(r)), whenText(r.last_fired), whenText(r.holding_since)]), true);
  }
  const changeText = (d) => Object.keys(d.change || {}).map((k) =>
    k + ' ' + (d.before ? d.before[k] : '?') + ' → ' + (d.after ? d.after[k] : d.change[k]))
    .join(', ');
  function decisionTimeline(decisions) {
    if (decisions.length === 0) return el('p', { class: 'note', text: t('decisions.none') });
    return el('ol', { class: 'timeline', id: 'decisions' }, decisions.map((d) =>
      el('li', { class: d.shadow ? 'shadow' : null },
          el('time', { datetime: d.at, text: whenText(d.at) }),
          el('div', {},
              el('strong', { text: d.room }), ' · ', d.source + (d.name ? ' ' + d.name : ''),
              d.shadow ? el('span', { class: 'state state-shadow', text: t('shadow.note') })
                : null),
          el('div', { class: 'change', text: changeText(d) || t('none') }),
          el('div', { class: 'reason', text: d.reason }),
          d.seen && d.seen.length ? el('div', { class: 'note', text: t('seen') + ': '
            + d.seen.map((s) => s.name + ' = ' + (s.value ?? t('state.' + s.state)))
              .join(', ') }) : null)));
  }
  // max_active and admit_rate after each decision of one room, oldest first, as steps.
  function decisionChart(box, decisions) {
    const points = decisions.filter((d) => !d.shadow && d.after).slice().reverse();
    if (points.length === 0) return box.replaceChildren();
    const xs = points.map((d) => Date.parse(d.at) / 1000);
    chart(box, t('decisions.chart'), ['max_active', 'admit_rate'],
        [xs, points.map((d) => d.after.max_active), points.map((d) => d.after.admit_rate)],
        { heading: 'h2' });
  }

  async function rulesView() {
    let alive = true;
    let timer = null;
    stopView = () => { alive = false; clearTimeout(timer); };
    const { rooms } = await api('GET', '/admin/api/v1/rooms');
    const room = el('select', { id: 'rules-room' }, el('option', { value: '',
      text: t('rooms.all') }), rooms.map((r) => el('option', { value: r.policy.room,
      text: r.policy.room })));
    const signalsBox = el('section', { class: 'card', id: 'signals' });
    const rulesBox = el('section', { class: 'card', id: 'rules' });
    const controlledBox = el('section', { class: 'card', id: 'controlled' });
    const decisionsBox = el('section', { class: 'card', id: 'timeline' });
    const chartBox = el('div', { class: 'chart', id: 'chart-decisions' });
    show(el('h1', { text: t('signals.title') }), field(t('room'), room), signalsBox, rulesBox,
        controlledBox, decisionsBox);
    const draw = async () => {
      try {
        const [signals, rules, control] = await Promise.all([
          api('GET', '/admin/api/v1/signals'), api('GET', '/admin/api/v1/rules'),
          api('GET', '/admin/api/v1/control?' + qs(room.value ? { room: room.value, limit: 50 }
            : { limit: 50 }))]);
        if (!alive) return;
        signalsBox.replaceChildren(el('h2', { text: t('signals.list') }),
            signals.signals.length === 0 ? el('p', { class: 'note', text: t('signals.empty') })
              : signalTable(signals.signals));
        const shown = rules.rules.filter((r) => !room.value || r.room === room.value);
        rulesBox.replaceChildren(el('h2', { text: t('rules.list') }),
            shown.length === 0 ? el('p', { class: 'note', text: t('rules.empty') })
              : ruleTable(shown));
        controlledBox.replaceChildren(el('h2', { text: t('controlled.rooms') }),
            control.rooms.length === 0 ? el('p', { class: 'note', text: t('signals.none') })
              : table(t('controlled.rooms'), [t('room'), t('control'), t('state'), t('worst')],
                  control.rooms.map((c) => [c.room, controlOn(c) ? t('on') : t('off'),
                    c.state || t('none'),
                    typeof c.worst === 'number' ? c.worst.toFixed(2) : t('none')]), true));
        decisionsBox.replaceChildren(...[el('h2', { text: t('decisions.title') }),
          room.value ? chartBox : null, decisionTimeline(control.decisions)].filter(Boolean));
        if (room.value) decisionChart(chartBox, control.decisions);
      } catch (err) {
        if (alive) toast(t('error', err.message), true);
      }
    };
    const loop = async () => {
      await draw();
      if (alive) timer = setTimeout(loop, 2000);
    };
    room.addEventListener('change', () => { clearTimeout(timer); loop(); });
    await loop();
  }

  async function roomPicker(id, selected) {
    const { rooms } = await api('GET', '/admin/api/v1/rooms');
    return el('select', { id }, rooms.map((r) => el('option', { value: r.policy.room,
      selected: r.policy.room === selected, text: r.policy.room })));
  }

  async function statsView() {
    const room = await roomPicker('stats-room');
    const range = el('select', { id: 'range' }, ['hour', 'day', 'week', 'custom'].map((r) =>
      el('option', { value: r, text: t('range.' + r) })));
    const step = el('select', { id: 'step' }, ['1m', '1h', '1s'].map((s) =>
      el('option', { value: s, text: s })));
    const from = el('input', { type: 'datetime-local', id: 'from' });
    const to = el('input', { type: 'datetime-local', id: 'to' });
    const out = el('div', { class: 'stats-out' });
    const csv = el('a', { class: 'button secondary', id: 'csv', download: 'vwr-stats.csv',
      text: t('csv') });
    const metrics = 'requests,joins,admitted_now,admitted_from_line,waiting,blocked';
    const draw = async () => {
      const span = { hour: 3600, day: 86400, week: 604800 }[range.value];
      let f; let e;
      if (span) { e = nowS(); f = e - span; } else {
        f = Math.floor(new Date(from.value).getTime() / 1000);
        e = Math.floor(new Date(to.value).getTime() / 1000);
      }
      const q = { room: room.value, from: f, to: e, step: step.value, metrics };
      csv.href = '/admin/api/v1/stats?' + qs({ ...q, format: 'csv' });
      try {
        const answer = await api('GET', '/admin/api/v1/stats?' + qs(q));
        const box = el('div', { class: 'chart', id: 'chart-history' });
        const peaks = await api('GET', '/admin/api/v1/stats/peaks?' + qs({ room: room.value,
          period: 'hour', from: f, to: e, k: 5 }));
        const tops = await Promise.all(['pageUrl', 'ip', 'userAgent'].map((dim) =>
          api('GET', '/admin/api/v1/stats/top?' + qs({ room: room.value, dim, from: f, to: e,
            k: 10 })).catch(() => ({ dim, top: [] }))));
        out.replaceChildren(box,
            el('h2', { text: t('stats.peaks') }),
            table(t('stats.peaks'), [t('start'), t('value'), 'joins', 'waiting'],
                peaks.peaks.map((p) =>
              [new Date(p.start * 1000).toLocaleString(lang), p.value, p.joins, p.waiting])),
            el('div', { class: 'tops' }, tops.map((top, i) => el('section', {},
                el('h2', { text: t('stats.top.' + ['pageUrl', 'ip', 'userAgent'][i]) }),
                table(t('stats.top.' + ['pageUrl', 'ip', 'userAgent'][i]),
                    [t('entry'), t('count'), t('share')], top.top.map((x) =>
                  [x.key, x.count, (x.share * 100).toFixed(1) + '%']))))));
        chart(box, t('stats.title'), metrics.split(','), seriesData(answer, metrics.split(',')),
            { heading: 'h2' });
      } catch (err) { toast(t('error', err.message), true); }
    };
    show(el('h1', { text: t('stats.title') }),
        el('form', { class: 'grid', on: { submit: (e) => { e.preventDefault(); draw(); } } },
            field(t('room'), room), field(t('range'), range), field(t('step'), step),
            field(t('from'), from), field(t('to'), to),
            el('button', { type: 'submit', id: 'show', text: t('show') }), csv),
        out);
    await draw();
  }

  async function protectionView() {
    const room = await roomPicker('protection-room');
    const out = el('div');
    const lists = ['deny', 'allow', 'unblock', 'block', 'join_block'];
    const draw = async () => {
      const base = '/admin/api/v1/rooms/' + encodeURIComponent(room.value) + '/lists/';
      const answers = await Promise.all(lists.map((l) =>
        api('GET', base + l).catch(() => ({ entries: [] }))));
      out.replaceChildren(...lists.map((l, i) => {
        const input = el('input', { 'aria-label': l + ' ' + t('entry'),
          placeholder: '10.0.0.0/8' });
        return el('section', { class: 'card' }, el('h2', { text: l }),
            table(l, [t('entry'), t('source'), t('expires'), t('actions')],
                answers[i].entries.map((e) => [
              e.ip ?? e.identity, e.source,
              e.expires ? new Date(e.expires * 1000).toLocaleString(lang) : t('none'),
              canChange() && e.source === 'admin' ? el('button', { type: 'button',
                class: 'secondary', text: t('remove'), on: { click: async () => {
                  const key = e.ip !== undefined ? 'ip' : 'identity';
                  try {
                    await api('DELETE', base + l + '?' + qs({ [key]: e.ip ?? e.identity }));
                    draw();
                  } catch (err) { toast(t('error', err.message), true); }
                } } }) : '',
            ])),
            canChange() ? el('form', { class: 'row', on: { submit: async (ev) => {
              ev.preventDefault();
              const v = input.value.trim();
              const isIp = /^[0-9a-fA-F.:/]+$/.test(v);
              try {
                await api('POST', base + l, isIp ? { ip: v } : { identity: v });
                draw();
              } catch (err) { toast(t('error', err.message), true); }
            } } }, input, el('button', { type: 'submit', text: t('add') })) : null);
      }));
    };
    room.addEventListener('change', draw);
    show(el('h1', { text: t('protection.title') }), field(t('room'), room), out);
    await draw();
  }

  async function auditView() {
    const who = el('input', { id: 'audit-operator' });
    const room = el('input', { id: 'audit-room' });
    const text = el('input', { id: 'audit-text' });
    const out = el('div');
    const csv = el('a', { class: 'button secondary', id: 'audit-csv', download: 'vwr-audit.csv',
      text: t('csv') });
    const draw = async () => {
      const q = {};
      if (who.value) q.operator = who.value;
      if (room.value) q.room = room.value;
      if (text.value) q.q = text.value;
      csv.href = '/admin/api/v1/audit?' + qs({ ...q, format: 'csv' });
      try {
        const { entries } = await api('GET', '/admin/api/v1/audit?' + qs({ ...q, limit: 200 }));
        out.replaceChildren(table(t('audit.title'),
            [t('time'), t('operator'), t('address'), t('room'), t('action'), t('before'),
             t('after')],
            entries.map((e) => [new Date(e.unix_ms).toLocaleString(lang), e.operator, e.address,
              e.room, e.action, el('code', { text: e.before }), el('code', { text: e.after })])));
      } catch (err) { toast(t('error', err.message), true); }
    };
    show(el('h1', { text: t('audit.title') }),
        el('form', { class: 'grid', on: { submit: (e) => { e.preventDefault(); draw(); } } },
            field(t('operator'), who), field(t('room'), room), field(t('text'), text),
            el('button', { type: 'submit', text: t('search') }), csv), out);
    await draw();
  }

  async function operatorsView() {
    const out = el('div');
    const name = el('input', { id: 'operator-name', required: true });
    const role = el('select', { id: 'operator-role' }, ['viewer', 'operator', 'admin'].map((r) =>
      el('option', { value: r, text: r })));
    const made = el('p', { class: 'token', role: 'status' });
    const draw = async () => {
      const { operators } = await api('GET', '/admin/api/v1/operators');
      out.replaceChildren(table(t('operators.title'), [t('name'), t('role'), t('origin'),
        t('actions')], operators.map((o) => [
        o.name, o.role, o.origin, o.origin === 'api' ? el('button', { type: 'button',
          class: 'secondary', text: t('remove'), on: { click: async () => {
            if (!window.confirm(t('confirm.remove', o.name))) return;
            try {
              await api('DELETE', '/admin/api/v1/operators/' + encodeURIComponent(o.name));
              draw();
            } catch (err) { toast(t('error', err.message), true); }
          } } }) : ''])));
    };
    show(el('h1', { text: t('operators.title') }), out,
        el('form', { class: 'grid', on: { submit: async (e) => {
          e.preventDefault();
          try {
            const m = await api('POST', '/admin/api/v1/operators',
                { name: name.value, role: role.value });
            made.replaceChildren(t('operators.token', m.name), el('code', { text: m.token }));
            name.value = '';
            draw();
          } catch (err) { toast(t('error', err.message), true); }
        } } }, field(t('name'), name), field(t('role'), role),
        el('button', { type: 'submit', text: t('add') })), made);
    await draw();
  }

  // ---- routing ----
  function applyTexts() {
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll('[data-t]')) node.textContent = t(node.dataset.t);
    const other = document.getElementById('lang');
    other.textContent = TEXTS[lang].lang;
    other.lang = lang === 'ko' ? 'en' : 'ko';  // the button names the other language in it
  }
  let routes = 0;  // routes begun: a view's first drawing that ends after the next began is stale
  async function route() {
    stopView();
    stopView = () => {};
    applyTexts();
    const signed = !!state.operator;
    document.getElementById('nav').hidden = !signed;
    document.getElementById('signout').hidden = !signed;
    document.getElementById('nav-operators').hidden = state.role !== 'admin';
    document.getElementById('who').textContent = signed ? state.operator + ' (' + state.role + ')'
      : '';
    if (!signed) return signInView();
    const hash = location.hash.replace(/^#/, '') || '/';
    for (const a of document.querySelectorAll('#nav a')) {
      a.toggleAttribute('aria-current', a.getAttribute('href') === '#' + hash);
    }
    // main[data-ready] once the view has drawn what it first reads (the browser tests wait
    // for it before a screenshot).
    main().removeAttribute('data-ready');
    const generation = ++routes;
    const view = hash.startsWith('/room/') ? () => roomView(decodeURIComponent(hash.slice(6)))
      : { '/rules': rulesView, '/stats': statsView, '/protection': protectionView,
        '/audit': auditView, '/operators': operatorsView }[hash] || overviewView;
    try {
      await view();
    } catch (err) {
      toast(t('error', err.message), true);
    }
    if (generation === routes) main().dataset.ready = '1';
  }

  document.getElementById('lang').addEventListener('click', () => {
    lang = lang === 'ko' ? 'en' : 'ko';
    localStorage.setItem('vwr.console.lang', lang);
    route();
  });
  document.getElementById('signout').addEventListener('click', async () => {
    try { await api('DELETE', '/admin/api/v1/session'); } catch { /* signed out anyway */ }
    Object.assign(state, { operator: null, role: null, csrf: '' });
    route();
  });
  window.addEventListener('hashchange', route);

  (async () => {
    try {
      const who = await api('GET', '/admin/api/v1/session');
      if (who.via === 'session') {
        Object.assign(state, { operator: who.operator, role: who.role, csrf: who.csrf_token });
      }
    } catch { /* not signed in */ }
    route();
  })();
})();
