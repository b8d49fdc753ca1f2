// The operator console in Chromium: sign in, watch a room's numbers change while traffic is
// driven, change max_active and see the public API obey it, a viewer who can change nothing, a
// change from another origin refused, the statistics CSV equal to the stats API's, the audit log
// naming each change's operator; screenshots of every page in English and Korean, desktop and
// narrow.
import {
  assert, ADMIN, ADMIN_TOKEN, PUBLIC, api, checkAccessibility, claim, join, openBrowser, run, shot,
} from './lib.mjs';

const PAGES = [['overview', '#/'], ['room', '#/room/shop'], ['room-launch', '#/room/launch'],
  ['rules', '#/rules'], ['stats', '#/stats'],
  ['protection', '#/protection'], ['audit', '#/audit'], ['operators', '#/operators']];

async function signIn(page, token) {
  await page.goto(`${ADMIN}/console/`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
}

const figure = (page, name) =>
  page.locator(`a.room-link:text-is("shop") >> xpath=ancestor::tr >> [data-figure=${name}]`);

run('console', async () => {
  const browser = await openBrowser({ locale: 'en-US' });
  try {
    const page = await browser.page();
    await signIn(page, ADMIN_TOKEN);
    assert.equal(await page.textContent('#who'), 'admin (admin)');

    // Live numbers: the waiting count follows the joins driven now.
    await page.waitForSelector('a.room-link');
    const before = Number(await figure(page, 'waiting').textContent());
    for (let i = 0; i < 4; i++) await join('shop');
    // (max_active is 1: all but the first wait.)
    // Live figures come once a second. A stream that falls silent is reopened by the console
    // after 5 s, and after three failures it polls instead (about 17 s in all): the count must
    // follow within that recovery too. On failure, say what the live feed was doing.
    try {
      await page.waitForFunction((n) => {
        const link = [...document.querySelectorAll('a.room-link')].find((a) => a.textContent === 'shop');
        const cell = link.closest('tr').querySelector('[data-figure=waiting]');
        return Number(cell.textContent) >= n;
      }, before + 3, { timeout: 30000 });
    } catch (err) {
      const seen = await page.evaluate(() => ({
        live: document.getElementById('live')?.dataset.state,
        second: document.querySelector('.rooms')?.dataset.second,
        now: Math.floor(Date.now() / 1000),
        waiting: [...document.querySelectorAll('[data-figure=waiting]')].map((e) => e.textContent),
      }));
      throw new Error(`${err.message}; live feed: ${JSON.stringify(seen)}, waiting before: ${before}`);
    }
    const held = await join('shop');
    assert.equal(held.status, 'waiting', 'max_active 1 holds the line');

    // The room's name and message are shown as text: nothing of them runs.
    await page.goto(`${ADMIN}/console/#/room/shop`);
    await page.waitForSelector('#apply');
    assert.equal(await page.inputValue('#message'), '<img src=x onerror=alert(1)> 오후 2시');
    assert.equal(await page.locator('main img').count(), 0);

    // max_active through the console; the public API obeys it.
    await page.fill('#max_active', '50');
    await page.click('#apply');
    await page.waitForSelector('#toast.shown');
    const policy = await api('GET', `${ADMIN}/admin/api/v1/rooms/shop/policy`, { token: ADMIN_TOKEN });
    assert.equal(policy.body.max_active, 50);
    // The people who waited behind max_active 1 are let in now.
    const admitted = await claim('shop', held.ticket, 5000);
    assert.equal(admitted.status, 'admitted');

    // "End all sessions" asks first: dismissed, nothing ends; confirmed, every session of the
    // room ends and its token stops verifying.
    const verifies = async (token) => (await fetch(`${PUBLIC}/api/v1/verify?room=shop`,
      { headers: { Authorization: `Bearer ${token}` } })).status;
    const shopActive = async () => (await api('GET', `${ADMIN}/admin/api/v1/rooms`,
      { token: ADMIN_TOKEN })).body.rooms.find((r) => r.policy.room === 'shop').active;
    const answerDialog = (accept) => new Promise((resolve) => {
      page.once('dialog', async (dialog) => {
        const question = dialog.message();
        await (accept ? dialog.accept() : dialog.dismiss());
        resolve(question);
      });
    });
    assert.equal(await verifies(admitted.token), 204);
    const inside = await shopActive();
    assert.ok(inside >= 2, `sessions in shop: ${inside}`);
    let asked = answerDialog(false);
    await page.click('#end-all');
    assert.match(await asked, new RegExp(`^End all ${inside} sessions of room shop\\?`));
    assert.equal(await shopActive(), inside, 'dismissed: nothing ended');
    assert.equal(await verifies(admitted.token), 204);
    asked = answerDialog(true);
    await page.click('#end-all');
    await asked;
    await page.waitForSelector(`#toast.shown:text-is("${inside} sessions ended")`);
    assert.equal(await shopActive(), 0);
    assert.equal(await verifies(admitted.token), 401, 'the ended session\'s token is refused');

    // The audit log shows the change with its operator.
    await page.goto(`${ADMIN}/console/#/audit`);
    const row = page.locator('tr', { hasText: 'policy' }).first();
    await row.waitFor();
    assert.match(await row.textContent(), /admin.*shop.*policy/s);
    assert.match(await row.textContent(), /"max_active":50/);
    const ended = page.locator('tr', { hasText: 'sessions.end_all' }).first();
    assert.match(await ended.textContent(),
      new RegExp(`admin.*shop.*sessions\\.end_all.*"active":${inside}.*"ended":${inside}`, 's'));

    // The statistics page's CSV is the stats API's answer to the same query. The history takes
    // each second's figures a moment after the second ends: first wait until the traffic above
    // is all in it, so that the page's download and the API's answer after it describe the
    // same finished seconds.
    const sums = (csv) => {
      const [head, ...rows] = csv.trim().split('\n').map((line) => line.split(','));
      const total = (name) => rows.reduce((sum, row) => sum + Number(row[head.indexOf(name)]), 0);
      return { joins: total('joins'), fromLine: total('admitted_from_line') };
    };
    const recorded = Date.now() + 10000;
    for (;;) {
      const now = Math.floor(Date.now() / 1000);
      const history = await fetch(`${ADMIN}/admin/api/v1/stats?room=shop&step=1m&format=csv` +
        `&metrics=joins,admitted_from_line&from=${now - 3600}&to=${now + 60}`,
      { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      const seen = sums(await history.text());
      if (seen.joins >= 5 && seen.fromLine >= 1) break;
      assert.ok(Date.now() < recorded, `the history did not record the traffic: ${JSON.stringify(seen)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await page.goto(`${ADMIN}/console/#/stats`);
    await page.waitForSelector('#chart-history');
    const href = await page.getAttribute('#csv', 'href');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    const fs = await import('node:fs/promises');
    const fromBrowser = await fs.readFile(await download.path(), 'utf8');
    const fromApi = await fetch(ADMIN + href, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(fromApi.status, 200);
    assert.equal(fromBrowser, await fromApi.text());
    assert.match(fromBrowser, /^time,requests,joins/);

    // A page of another origin posts to the admin API with the cookie the browser holds:
    // refused, and nothing changes. (The attacker's page is served by the test, without a
    // Content-Security-Policy, on the public listener's origin: VWR's own pages would block the
    // request before it is sent, and a public address would be refused as less private.)
    await page.route(`${PUBLIC}/attacker.html`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>x</title>' }));
    await page.goto(`${PUBLIC}/attacker.html`);
    await page.evaluate(async (admin) => {
      await fetch(`${admin}/admin/api/v1/rooms/shop/lists/deny`, {
        method: 'POST', mode: 'no-cors', credentials: 'include',
        headers: { 'Content-Type': 'text/plain' }, body: '{"ip":"203.0.113.9"}',
      }).catch(() => {});
    }, ADMIN);
    // Chromium may refuse the request itself (private network access); that refusal is the
    // one console error expected here.
    for (let i = browser.problems.length - 1; i >= 0; --i) {
      if (/lists\/deny.*(blocked by CORS|Failed to fetch)/.test(browser.problems[i])) {
        browser.problems.splice(i, 1);
      }
    }
    const deny = await api('GET', `${ADMIN}/admin/api/v1/rooms/shop/lists/deny`, { token: ADMIN_TOKEN });
    assert.equal(deny.body.entries.length, 0, JSON.stringify(deny.body));
    const audit = await api('GET', `${ADMIN}/admin/api/v1/audit?q=203.0.113.9`, { token: ADMIN_TOKEN });
    assert.equal(audit.body.entries.length, 0);

    // Screenshots: every page, English and Korean, desktop and narrow.
    for (const [lang, size] of [['en', { width: 1280, height: 900 }], ['en', { width: 390, height: 844 }],
      ['ko', { width: 1280, height: 900 }], ['ko', { width: 390, height: 844 }]]) {
      await page.setViewportSize(size);
      await page.goto(`${ADMIN}/console/#/`);
      await page.waitForSelector('#nav:not([hidden])');
      const wanted = lang === 'ko' ? '개요' : 'Overview';
      if ((await page.textContent('a[href="#/"][data-t]')) !== wanted) {
        await page.click('#lang');
        await page.waitForFunction((w) =>
          document.querySelector('a[href="#/"][data-t]').textContent === w, wanted);
      }
      for (const [name, hash] of PAGES) {
        await page.goto(`${ADMIN}/console/${hash}`);
        await page.waitForSelector('main[data-ready] h1');
        await shot(page, `console-${name}-${lang}-${size.width}`);
        await checkAccessibility(page, `console-${name}-${lang}-${size.width}`);
        // Nothing wider than the window: no cut-off on a phone.
        const overflow = await page.evaluate(() =>
          document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `${name} ${lang} ${size.width}: ${overflow}px wider than the window`);
      }
    }
    await page.click('#signout');
    await page.waitForSelector('#token');
    // The sign-in page, in both languages and both widths (Korean is the language now).
    for (const lang of ['ko', 'en']) {
      if (lang === 'en') {
        await page.click('#lang');
        await page.waitForSelector('html[lang=en] #token');
      }
      for (const size of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
        await page.setViewportSize(size);
        await shot(page, `console-signin-${lang}-${size.width}`);
        await checkAccessibility(page, `console-signin-${lang}-${size.width}`);
      }
    }
    await page.click('#lang');
    await page.waitForSelector('html[lang=ko] #token');
    // The check runs under the console's Content-Security-Policy and does fail a page that has
    // a violation: the token field without its label.
    await page.evaluate(() => document.querySelector('label.field > span').remove());
    await assert.rejects(checkAccessibility(page, 'console-signin-unlabelled'), /critical label/);

    // A viewer: no controls, and the API refuses the change the page does not offer.
    const made = await api('POST', `${ADMIN}/admin/api/v1/operators`,
      { token: ADMIN_TOKEN, body: { name: 'vera', role: 'viewer' } });
    assert.equal(made.status, 201);
    await page.setViewportSize({ width: 1280, height: 900 });
    await signIn(page, made.body.token);
    await page.goto(`${ADMIN}/console/#/room/shop`);
    await page.waitForSelector('.card .note');
    assert.equal(await page.locator('#apply, #pause, #resume, #end-all').count(), 0);
    assert.equal(await page.locator('#nav-operators:not([hidden])').count(), 0);
    const refused = await page.evaluate(async () => {
      const who = await (await fetch('/admin/api/v1/session')).json();
      const res = await fetch('/admin/api/v1/rooms/shop/policy', {
        method: 'PUT', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': who.csrf_token },
        body: '{"max_active":2}' });
      return res.status;
    });
    assert.equal(refused, 403);
    await shot(page, 'console-room-viewer-ko-1280');
    await checkAccessibility(page, 'console-room-viewer-ko-1280');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.close();
  }
}, 80000);
