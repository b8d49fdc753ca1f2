// The moment of admission reaches the waiting page through the ticket's event stream (at once,
// though the room's polls are 20 s apart), and the page falls back to polling when the stream
// is blocked (refused by a proxy), held back (a proxy that buffers: nothing arrives), or when
// the browser has no EventSource.

import { api, assert, join, leave, openBrowser, PUBLIC, run, shot } from './lib.mjs';

const state = (page, s) =>
  page.waitForFunction((want) => document.querySelector('#vwr-wait')?.dataset.state === want, s);
const channel = (page, c, timeout = 15000) =>
  page.waitForFunction((want) => document.querySelector('#vwr-wait')?.dataset.channel === want, c, { timeout });

// Opens the waiting page of `room` in a fresh browser (set up by `prepare`), waits until it is
// in line and hears of it through `via`, then frees the slot and measures how long the page
// takes to reach the return URL. Returns what the page asked the server meanwhile.
async function admitThrough(room, via, prepare, name) {
  const holder = await join(room);
  assert.equal(holder.status, 'admitted');
  const browser = await openBrowser({ extraHTTPHeaders: { 'Accept-Language': 'en' } });
  try {
    const page = await browser.page();
    await prepare?.(page);
    const asked = [];
    page.on('request', (r) => asked.push(new URL(r.url()).pathname));
    await page.goto(`${PUBLIC}/wait/${room}?lang=en&return=${encodeURIComponent('/demo/inside?lang=en')}`);
    await state(page, 'waiting');
    await channel(page, via);
    assert.equal((await page.locator('[data-vwr="position"]').textContent()).trim(), '1');
    await shot(page, `event-stream-${name}-waiting`);
    const freed = Date.now();
    await leave(room, holder.token);
    await page.waitForURL(/\/demo\/inside/, { timeout: 15000 });
    const took = Date.now() - freed;
    await page.waitForLoadState('load');
    await shot(page, `event-stream-${name}-inside`);
    assert.deepEqual(browser.problems, []);
    if (room === 'push') {
      // The demo's room: its admission cookie came with the page's confirming status poll (a
      // stream cannot set cookies), and the protected page saw it.
      assert.match(await page.locator('#inside-admission').textContent(), /admission cookie was checked/);
    }
    return { took, asked };
  } finally {
    await browser.close();
  }
}

await run('event stream', async () => {
  // Pushed: in at once although the next poll would have been 20 s away.
  const pushed = await admitThrough('push', 'stream', null, 'pushed');
  assert.ok(pushed.took < 3000, `admitted ${pushed.took} ms after the slot was freed`);
  const events = pushed.asked.filter((p) => p.endsWith('/events'));
  const polls = pushed.asked.filter((p) => p.endsWith('/status'));
  assert.ok(events.length >= 1, 'the page listened to the stream');
  assert.equal(polls.length, 1, `one status poll, for the cookie: ${JSON.stringify(pushed.asked)}`);

  // Blocked (a proxy refuses the stream): the page polls.
  const blocked = await admitThrough('fallback', 'poll', (page) =>
    page.route('**/api/v1/rooms/*/events*', (r) => r.abort()), 'blocked');
  assert.ok(blocked.asked.filter((p) => p.endsWith('/status')).length >= 2, 'it polled');

  // Held back (a buffering proxy: nothing arrives): the page polls after its wait for the
  // first event.
  const held = await admitThrough('held', 'poll', (page) =>
    page.route('**/api/v1/rooms/*/events*', () => { /* never answered */ }), 'held');
  assert.ok(held.asked.filter((p) => p.endsWith('/status')).length >= 2, `it polled: ${JSON.stringify(held.asked)}`);

  // No EventSource at all: the page polls from the start.
  const none = await admitThrough('bare', 'poll', (page) =>
    page.addInitScript(() => { delete window.EventSource; }), 'no-eventsource');
  assert.equal(none.asked.filter((p) => p.endsWith('/events')).length, 0);

  // Nothing is left open on the server.
  const metrics = await (await fetch(`${process.argv[3]}/metrics`)).text();
  assert.match(metrics, /vwr_http_streams\{listener="public"\} 0/);
  const info = await api('GET', '/api/v1/rooms/push');
  assert.equal(info.body.queueSize, 0);
}, 80000);
