// The console's live figures in Chromium: the overview and a room's page follow the traffic
// through GET /admin/api/v1/live (the stream, not polling); when the stream fails the console
// reconnects with a growing backoff, falls back to polling the stats API after repeated
// failures (the figures keep following the traffic), and goes back to the stream once it
// answers again.
import { assert, ADMIN, ADMIN_TOKEN, join, openBrowser, run, shot } from './lib.mjs';

async function signIn(page, token) {
  await page.goto(`${ADMIN}/console/`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
}

// The waiting figure of room `room` on the overview, or of the room page's figures.
const waitingOn = (page, room) => page.evaluate((r) => {
  const figure = document.querySelector('.figures [data-figure=waiting]');
  if (figure) return Number(figure.textContent);
  const link = [...document.querySelectorAll('a.room-link')].find((a) => a.textContent === r);
  return link ? Number(link.closest('tr').querySelector('[data-figure=waiting]').textContent) : -1;
}, room);

async function waitForWaiting(page, room, atLeast, timeout = 5000) {
  await page.waitForFunction(([r, n]) => {
    const figure = document.querySelector('.figures [data-figure=waiting]');
    if (figure) return Number(figure.textContent) >= n;
    const link = [...document.querySelectorAll('a.room-link')].find((a) => a.textContent === r);
    return !!link && Number(link.closest('tr').querySelector('[data-figure=waiting]')
      .textContent) >= n;
  }, [room, atLeast], { timeout });
}

// Waits until `count` more live events have been drawn (the second in data-second moved on).
async function seconds(page, selector, count) {
  const first = Number(await page.getAttribute(selector, 'data-second'));
  await page.waitForFunction(([s, n]) =>
    Number(document.querySelector(s).dataset.second) >= n, [selector, first + count],
  { timeout: (count + 3) * 1000 });
}

run('console_live', async () => {
  const browser = await openBrowser({ locale: 'en-US' });
  try {
    const page = await browser.page();
    const requests = [];
    page.on('request', (r) => requests.push({ path: new URL(r.url()).pathname, at: Date.now() }));
    await signIn(page, ADMIN_TOKEN);

    // The overview draws each second from the stream: no stats queries while it does.
    await page.waitForSelector('#live[data-state=live]');
    await page.waitForSelector('.rooms[data-second]:not([data-second=""])');
    const mark = requests.length;
    const before = await waitingOn(page, 'line');
    await join('line');
    for (let i = 0; i < 3; i++) await join('line');  // max_active 1: the rest wait
    await waitForWaiting(page, 'line', before + 3);
    await seconds(page, '.rooms', 3);
    const during = requests.slice(mark).map((r) => r.path);
    assert.deepEqual(during.filter((p) => p.startsWith('/admin/api/v1/stats')), [],
      'the overview polls no statistics while the stream runs');
    assert.ok(during.filter((p) => p === '/admin/api/v1/rooms').length <= 2,
      `the room list is read every 5 s, not every second: ${JSON.stringify(during)}`);
    assert.equal(during.filter((p) => p === '/admin/api/v1/live').length, 0,
      'one stream, kept open');

    // A room's page: figures and charts from the same stream.
    await page.goto(`${ADMIN}/console/#/room/line`);
    await page.waitForSelector('.figures[data-second]');
    const roomBefore = await waitingOn(page, 'line');
    await join('line');
    await join('line');
    await waitForWaiting(page, 'line', roomBefore + 2);
    const points = await page.evaluate(() =>
      document.querySelectorAll('#chart-queue canvas').length);
    assert.equal(points, 1, 'the queue chart is drawn');

    // The stream fails: reconnects with a backoff, then polls.
    await page.goto(`${ADMIN}/console/#/`);
    await page.waitForSelector('#live[data-state=live]');
    await page.route('**/admin/api/v1/live', (route) => route.abort());
    const failedFrom = requests.length;
    await page.reload();
    await page.waitForSelector('#live[data-state=reconnecting]');
    await page.waitForSelector('#live[data-state=polling]', { timeout: 10000 });
    const attempts = requests.slice(failedFrom).filter((r) => r.path === '/admin/api/v1/live')
      .map((r) => r.at);
    assert.equal(attempts.length, 3, `three tries before polling: ${attempts.length}`);
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]);
    assert.ok(gaps[0] >= 450 && gaps[1] >= 900 && gaps[1] > gaps[0],
      `the backoff grows: ${JSON.stringify(gaps)}`);
    await shot(page, 'console-overview-polling-en-1280');
    // Polling still follows the traffic.
    const polledBefore = await waitingOn(page, 'line');
    await join('line');
    await join('line');
    await waitForWaiting(page, 'line', polledBefore + 2);
    assert.ok(requests.slice(failedFrom).some((r) => r.path === '/admin/api/v1/stats'),
      'the figures come from the stats API while polling');

    // The stream is back: the console returns to it.
    await page.unroute('**/admin/api/v1/live');
    await page.waitForSelector('#live[data-state=live]', { timeout: 15000 });
    const back = requests.length;
    await seconds(page, '.rooms', 2);
    assert.deepEqual(requests.slice(back).map((r) => r.path)
      .filter((p) => p.startsWith('/admin/api/v1/stats')), [], 'polling stopped');
    assert.deepEqual(browser.problems.filter((p) => !/admin\/api\/v1\/live/.test(p)), []);
  } finally {
    await browser.close();
  }
}, 80000);
