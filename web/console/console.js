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
    },
  };
  const stored = localStorage.getItem('vwr.console.lang');
  let lang = stored || ((navigator.language || 'en').toLowerCase().startsWith('ko') ? 'ko' : 'en');
  const t = (key, ...args) =>
    (TEXTS[lang][key] ?? TEXTS.en[key] ?? key).replace(/\{(\d)\}/g, (_, i) => String(args[i]));

  const state = { operator: null, role: null, csrf: '' };
  const canChange = () => state.role === 'operator' || state.role === 'admin';
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
  function table(label, headers, rows) {
    return el('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': label },
        el('table', {},
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
    const tick = async () => {
      try {
        const { rooms } = await api('GET', '/admin/api/v1/rooms');
        const rates = await Promise.all(rooms.map((r) =>
          api('GET', '/admin/api/v1/stats?' + qs({ room: r.policy.room, step: '1s',
            from: nowS() - 5, to: nowS(), metrics: 'requests,surges' })).catch(() => null)));
        if (!alive) return;
        body.replaceChildren(table(t('overview.title'),
            [t('room'), t('mode'), t('waiting'), t('active'), t('rate'), t('eta'), t('requests'),
             t('surge'), t('control')],
            rooms.map((r, i) => {
              const p = r.policy;
              const s = rates[i];
              const sum = (n) => (s ? s.series[n].reduce((a, x) => a + x[1], 0) : 0);
              return [
                el('a', { href: '#/room/' + encodeURIComponent(p.room), class: 'room-link',
                  text: p.room }),
                el('span', { class: 'mode mode-' + p.mode, text: p.mode }),
                el('span', { class: 'num', 'data-figure': 'waiting', text: r.queueSize }),
                el('span', { class: 'num', 'data-figure': 'active',
                  text: r.active + ' / ' + p.max_active }),
                r.advanceRate.toFixed(1) + ' (' + p.admit_rate + ')',
                r.newcomerEtaSeconds === undefined ? t('none') : r.newcomerEtaSeconds + ' s',
                el('span', { class: 'num', 'data-figure': 'requests',
                  text: (sum('requests') / 5).toFixed(1) }),
                sum('surges') > 0 ? el('strong', { class: 'bad', text: t('yes') }) : t('none'),
                t('off'),
              ];
            })));
      } catch (err) {
        if (alive) toast(t('error', err.message), true);
      }
    };
    await tick();
    const timer = setInterval(tick, 1000);
    stopView = () => { alive = false; clearInterval(timer); };
  }

  async function roomView(room) {
    const figures = el('div', { class: 'figures' });
    const charts = ['requests', 'entries', 'queue', 'active', 'wait']
      .map((k) => el('div', { class: 'chart', id: 'chart-' + k }));
    const controls = el('section', { class: 'card' });
    show(el('h1', {}, el('a', { href: '#/', text: t('nav.overview') }), ' › ', room),
        figures, el('h2', { text: t('room.live') }), el('div', { class: 'charts' }, charts),
        controls,
        el('section', { class: 'card' }, el('h2', { text: t('signals.title') }),
            el('p', { class: 'note', text: t('signals.none') })));
    const path = '/admin/api/v1/rooms/' + encodeURIComponent(room);
    const drawControls = async () => {
      const policy = await api('GET', path + '/policy');
      const msg = await api('GET', path + '/message').catch(() => ({ message: '' }));
      const parts = [el('h2', { text: t('room.controls') })];
      if (!canChange()) {
        parts.push(el('p', { class: 'note', text: t('viewer.note') }));
        parts.push(table(t('room.controls'),
            [t('mode'), 'max_active', 'admit_rate', 'session_timeout', t('message')],
            [[policy.mode, policy.max_active, policy.admit_rate, policy.session_timeout,
              msg.message]]));
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
      const timeout = el('input', { id: 'session_timeout', value: policy.session_timeout });
      const put = async (change) => {
        try {
          await api('PUT', path + '/policy', change);
          toast(t('saved'));
          drawControls();
        } catch (err) { toast(t('error', err.message), true); }
      };
      const message = el('input', { id: 'message', value: msg.message || '', maxlength: 500 });
      parts.push(el('form', { class: 'grid', on: { submit: (e) => {
        e.preventDefault();
        put({ mode: mode.value, max_active: Number(maxActive.value),
          admit_rate: Number(admitRate.value), session_timeout: timeout.value });
      } } }, field(t('mode'), mode), field('max_active', maxActive),
      field('admit_rate', admitRate), field('session_timeout', timeout),
      el('button', { type: 'submit', id: 'apply', text: t('apply') })));
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
    let alive = true;
    const plots = {};
    const groups = {
      requests: ['requests_join', 'status_polls', 'requests_heartbeat', 'requests_verify',
        'requests_pages'],
      entries: ['joins', 'admitted_now', 'admitted_from_line', 'admit_rate'],
      queue: ['waiting'], active: ['active', 'max_active'],
      wait: ['wait_time_p50', 'wait_time_p95'],
    };
    const titles = { requests: 'chart.requests', entries: 'chart.entries', queue: 'chart.queue',
      active: 'chart.active', wait: 'chart.wait' };
    const tick = async () => {
      try {
        const { rooms } = await api('GET', '/admin/api/v1/rooms');
        const r = rooms.find((x) => x.policy.room === room);
        if (!r || !alive) return;
        figures.replaceChildren(...[
          [t('mode'), r.policy.mode], [t('waiting'), r.queueSize],
          [t('active'), r.active + ' / ' + r.policy.max_active],
          [t('rate'), r.advanceRate.toFixed(1) + ' (' + r.policy.admit_rate + ')'],
          [t('eta'), r.newcomerEtaSeconds === undefined ? t('none') : r.newcomerEtaSeconds + ' s'],
        ].map(([k, v]) => el('div', { class: 'figure' }, el('span', { text: k }),
            el('strong', { text: String(v) }))));
        const to = nowS();
        const all = Object.values(groups).flat().join(',');
        const answer = await api('GET', '/admin/api/v1/stats?' + qs({ room, step: '1s',
          from: to - 900, to, metrics: all }));
        if (!alive) return;
        for (const [k, names] of Object.entries(groups)) {
          const data = seriesData(answer, names);
          if (plots[k]) plots[k].setData(data);
          else plots[k] = chart(document.getElementById('chart-' + k), t(titles[k]), names, data,
            { dashed: ['admit_rate', 'max_active'] });
        }
      } catch (err) {
        if (alive) toast(t('error', err.message), true);
      }
    };
    await drawControls().catch((err) => toast(t('error', err.message), true));
    await tick();
    const timer = setInterval(tick, 1000);
    stopView = () => { alive = false; clearInterval(timer); };
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
    try {
      if (hash.startsWith('/room/')) return await roomView(decodeURIComponent(hash.slice(6)));
      if (hash === '/stats') return await statsView();
      if (hash === '/protection') return await protectionView();
      if (hash === '/audit') return await auditView();
      if (hash === '/operators') return await operatorsView();
      return await overviewView();
    } catch (err) {
      toast(t('error', err.message), true);
    }
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
