// Rules, signals and automatic control in the console, in Chromium: the rules and signals page
// shows each signal's value, age, state and last error, each rule's state (idle, pending,
// firing, shadow) and last firing, and the controller's and rules' decisions with their
// reasons; a room's page switches automatic control with its bounds and changes session_timeout
// and session_max, and the admin API obeys; a viewer sees none of these controls and the API
// refuses them with 403. (console_control.yaml: the rooms, signals and rules of console.yaml.)
import {
  assert, ADMIN, ADMIN_TOKEN, api, checkAccessibility, openBrowser, run, shot,
} from './lib.mjs';

async function signIn(page, token) {
  await page.goto(`${ADMIN}/console/`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
}

const stateOf = (page, attr, name) => page.locator(`tr:has([${attr}="${name}"]) [data-state]`);

run('console_control', async () => {
  const browser = await openBrowser({ locale: 'en-US' });
  try {
    const page = await browser.page();
    await signIn(page, ADMIN_TOKEN);
    const pushed = await api('PUT', `${ADMIN}/admin/api/v1/signals/launch_load`,
      { token: ADMIN_TOKEN, body: { value: 3.5, ttl: '1h' } });
    assert.equal(pushed.status, 204);

    // Signals: value, age and state; the probe of a closed port in error, with its error.
    await page.goto(`${ADMIN}/console/#/rules`);
    await page.waitForSelector('[data-signal=launch_load]');
    await page.waitForFunction(() => {
      const row = document.querySelector('[data-signal=origin_latency_ms]')?.closest('tr');
      return row && row.querySelector('[data-state]').dataset.state === 'error';
    }, null, { timeout: 10000 });
    const load = await page.locator('tr:has([data-signal=launch_load])').textContent();
    assert.match(load, /launch_load\s*push\s*3\.5\s*[\d.]+ (ms|s)\s*ok/);
    assert.equal(await stateOf(page, 'data-signal', 'launch_load').getAttribute('data-state'), 'ok');
    const probe = page.locator('tr:has([data-signal=origin_latency_ms])');
    const apiSignal = (await api('GET', `${ADMIN}/admin/api/v1/signals/origin_latency_ms`,
      { token: ADMIN_TOKEN })).body;
    assert.equal(apiSignal.state, 'error');
    assert.ok(apiSignal.error, JSON.stringify(apiSignal));
    assert.match(await probe.locator('code.bad').textContent(), /\S/, 'the last error is shown');

    // Rules: each in its state, as the API reports them.
    const expected = { 'launch-open-wide': 'firing', 'launch-try-pause': 'shadow',
      'launch-surge-cap': 'pending', 'launch-overload': 'idle' };
    for (const [name, want] of Object.entries(expected)) {
      await page.waitForFunction(([n, w]) => {
        const row = document.querySelector(`[data-rule="${n}"]`)?.closest('tr');
        return row && row.querySelector('[data-state]').dataset.state === w;
      }, [name, want], { timeout: 10000 });
    }
    const fired = (await api('GET', `${ADMIN}/admin/api/v1/rules`, { token: ADMIN_TOKEN }))
      .body.rules.find((r) => r.name === 'launch-open-wide');
    assert.ok(fired.last_fired, JSON.stringify(fired));
    const firedRow = await page.locator('tr:has([data-rule=launch-open-wide])').textContent();
    const firedText = await page.evaluate((at) => new Date(at).toLocaleString('en'),
      fired.last_fired);
    assert.ok(firedRow.includes(firedText),
      `last firing shown: ${firedRow}`);

    // Decisions on the timeline with their reasons, the shadow one marked.
    const wide = page.locator('#decisions li', { hasText: 'rule launch-open-wide' }).first();
    await wide.waitFor();
    assert.match(await wide.textContent(), /admit_rate 20 → 25/);
    assert.match(await wide.textContent(), /when \(room\.waiting >= 0\) held for/);
    const shadow = page.locator('#decisions li.shadow', { hasText: 'launch-try-pause' }).first();
    assert.match(await shadow.textContent(), /mode fifo → pause/);
    assert.match(await shadow.textContent(), /shadow: recorded, nothing changed/);
    // One room's decisions only, with the chart of what they set.
    await page.selectOption('#rules-room', 'shop');
    await page.waitForFunction(() => !document.querySelector('#decisions li')
      || ![...document.querySelectorAll('#decisions li')].some((li) =>
        li.textContent.includes('launch')));
    await page.selectOption('#rules-room', 'launch');
    await page.waitForSelector('#chart-decisions canvas');

    // The room page: what drives the room and the automatic control's state.
    await page.goto(`${ADMIN}/console/#/room/launch`);
    await page.waitForSelector('#drivers [data-rule=launch-open-wide]');
    await page.waitForSelector('#control-state [data-figure=automatic]');
    assert.equal(await page.textContent('#control-state [data-figure=automatic]'), 'on');

    // Automatic control off and on again, with bounds, through the console.
    await page.uncheck('#control-enabled');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/admin/api/v1/control/launch')
        && r.request().method() === 'PUT'),
      page.click('#control-apply')]);
    assert.equal(answer.status(), 200, await answer.text());
    await page.waitForFunction(() =>
      document.querySelector('#control-state [data-figure=automatic]').textContent === 'off');
    const off = (await api('GET', `${ADMIN}/admin/api/v1/control?room=launch`,
      { token: ADMIN_TOKEN })).body.rooms.find((r) => r.room === 'launch');
    assert.equal(off.enabled, false, JSON.stringify(off));
    await page.check('#control-enabled');
    await page.fill('#control-max-active-min', '5');
    await page.fill('#control-max-active-max', '500');
    await page.fill('#control-admit-rate-min', '1');
    await page.fill('#control-admit-rate-max', '50');
    await page.click('#control-apply');
    await page.waitForFunction(() =>
      document.querySelector('#control-state [data-figure=automatic]').textContent === 'on');
    const on = (await api('GET', `${ADMIN}/admin/api/v1/control?room=launch`,
      { token: ADMIN_TOKEN })).body.rooms.find((r) => r.room === 'launch');
    assert.equal(on.enabled, true, JSON.stringify(on));
    assert.deepEqual([on.max_active, on.admit_rate], [{ min: 5, max: 500 }, { min: 1, max: 50 }]);

    // session_timeout and session_max, changed at run time through the console.
    await page.goto(`${ADMIN}/console/#/room/shop`);
    await page.fill('#session_timeout', '12m');
    await page.fill('#session_max', '2h');
    await page.click('#apply');
    await page.waitForSelector('#toast.shown');
    const policy = (await api('GET', `${ADMIN}/admin/api/v1/rooms/shop/policy`,
      { token: ADMIN_TOKEN })).body;
    assert.deepEqual([policy.session_timeout, policy.session_max], ['720s', '7200s']);
    // The form is drawn again from the stored policy after the "saved" toast.
    await page.waitForFunction(() => document.querySelector('#session_max')?.value === '7200s');

    // A viewer: none of the controls, and the API refuses them.
    const made = await api('POST', `${ADMIN}/admin/api/v1/operators`,
      { token: ADMIN_TOKEN, body: { name: 'vic', role: 'viewer' } });
    assert.equal(made.status, 201);
    await page.click('#signout');
    await page.waitForSelector('#token');
    await signIn(page, made.body.token);
    await page.goto(`${ADMIN}/console/#/room/launch`);
    await page.waitForSelector('#control-state [data-figure=automatic]');
    assert.equal(await page.locator(
      '#control-form, #control-enabled, #control-apply, #apply, #session_timeout, #session_max, '
      + '#mode, #end-all').count(), 0);
    await page.goto(`${ADMIN}/console/#/rules`);
    await page.waitForSelector('[data-rule=launch-open-wide]');
    assert.equal(await page.locator('main button, main input').count(), 0);
    const refused = await page.evaluate(async () => {
      const who = await (await fetch('/admin/api/v1/session')).json();
      const change = (path, body) => fetch(path, { method: 'PUT', headers: {
        'Content-Type': 'application/json', 'X-CSRF-Token': who.csrf_token },
      body: JSON.stringify(body) }).then((r) => r.status);
      return [
        await change('/admin/api/v1/control/launch', { enabled: false }),
        await change('/admin/api/v1/rooms/launch/policy', { session_timeout: '1m' }),
        await change('/admin/api/v1/signals/launch_load', { value: 1 }),
      ];
    });
    assert.deepEqual(refused, [403, 403, 403]);
    await shot(page, 'console-rules-viewer-en-1280');
    await checkAccessibility(page, 'console-rules-viewer-en-1280');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.close();
  }
}, 80000);
