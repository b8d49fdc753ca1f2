// The waiting page's other states, as operators and networks cause them: paused, closed,
// unreachable (with back-off and "retry now"), and a turn that passed (with "join again").

import {
  ADMIN, ADMIN_TOKEN, api, assert, checkAccessibility, join, leave, openBrowser, PUBLIC, run,
} from './lib.mjs';

async function setMode(room, mode) {
  const r = await api('PUT', `${ADMIN}/admin/api/v1/rooms/${room}/policy`, { token: ADMIN_TOKEN, body: { mode } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

// Status polls and the ticket's event stream, to cut the page off from the server (the same
// function routes and unroutes).
const isStatus = (url) => url.pathname.endsWith('/status') || url.pathname.endsWith('/events');
// Waits until the admin API's figures of `room` satisfy `predicate`.
async function roomReaches(room, predicate, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rooms = await api('GET', `${ADMIN}/admin/api/v1/rooms`, { token: ADMIN_TOKEN });
    if (predicate(rooms.body.rooms.find((r) => r.policy.room === room))) return;
    if (Date.now() > deadline) throw new Error(`room ${room} did not reach ${predicate}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const state = (page, s) =>
  page.waitForFunction((want) => document.querySelector('#vwr-wait').dataset.state === want, s);

// The page's event streams, kept where the test can reach them (before the page's scripts run).
const keepStreams = (page) =>
  page.addInitScript(() => {
    const Native = window.EventSource;
    window.vwrTestStreams = [];
    window.EventSource = class extends Native {
      constructor(...args) {
        super(...args);
        window.vwrTestStreams.push(this);
      }
    };
  });

// Cuts the page off from the server: its polls and new streams fail, and a stream open already
// drops as a lost connection drops it (a route stops only new requests).
async function cutOff(page) {
  await page.route(isStatus, (route) => route.abort());
  await page.evaluate(() => {
    for (const s of window.vwrTestStreams) {
      if (s.readyState === EventSource.CLOSED) continue;
      s.close();
      s.dispatchEvent(new Event('error'));
    }
  });
}

await run('page states', async () => {
  const browser = await openBrowser({ extraHTTPHeaders: { 'Accept-Language': 'en' } });
  try {
    const page = await browser.page();
    const live = page.locator('#vwr-live');
    await keepStreams(page);

    // Paused: in line, no estimate.
    const holder = await join('line');
    await setMode('line', 'pause');
    await page.goto(`${PUBLIC}/wait/line?return=%2Fdemo%2Finside`);
    await state(page, 'paused');
    assert.equal(await live.textContent(), 'Admissions are paused for now. You keep your place in line.');
    assert.equal(await page.locator('[data-vwr="eta"]').textContent(), 'unknown');
    await checkAccessibility(page, 'waiting-page-paused-en');

    // Closed: the ticket keeps its place for when the room reopens.
    await setMode('line', 'reject');
    await state(page, 'closed');
    assert.match(await live.textContent(), /closed right now/);
    await checkAccessibility(page, 'waiting-page-closed-en');
    await setMode('line', 'fifo');
    await state(page, 'waiting');

    // Unreachable: the page says so, counts down, and "retry now" tries at once.
    await cutOff(page);
    await state(page, 'network');
    assert.match(await live.textContent(), /^Connection problem\. Trying again in \d+ s\.$/);
    const retry = page.getByRole('button', { name: 'Retry now' });
    await retry.waitFor();
    await checkAccessibility(page, 'waiting-page-network-en');
    await page.unroute(isStatus);
    await retry.click();
    await state(page, 'waiting');
    assert.equal(await retry.isHidden(), true);
    await leave('line', holder.token);
    await page.waitForURL(`${PUBLIC}/demo/inside`);

    // A turn that passes unclaimed: the page offers to join again, and that gets in.
    const grace = await join('grace');
    await page.goto(`${PUBLIC}/wait/grace?return=%2Fdemo%2Finside%3Fagain%3D1`);
    await state(page, 'waiting');
    await cutOff(page);
    await state(page, 'network');
    await leave('grace', grace.token);
    // The browser's ticket is called, stays unclaimed past claim_grace (1 s), and its slot returns.
    await roomReaches('grace', (r) => r.calledUnclaimed === 1);
    await roomReaches('grace', (r) => r.calledUnclaimed === 0 && r.active === 0);
    await page.unroute(isStatus);
    // "Retry now" asks at once; the page's own back-off may have asked first, hiding the button
    // (either way the next poll finds the turn gone).
    await page.getByRole('button', { name: 'Retry now' }).click({ timeout: 2000 }).catch(() => {});
    await state(page, 'expired');
    assert.match(await live.textContent(), /your place has expired/);
    await checkAccessibility(page, 'waiting-page-expired-en');
    await page.getByRole('button', { name: 'Join the line again' }).click();
    await page.waitForURL(`${PUBLIC}/demo/inside?again=1`);
    assert.deepEqual(
      browser.problems.filter((p) => !/ERR_FAILED|net::/.test(p)),
      [],
    );
  } finally {
    await browser.close();
  }
});
