// A legacy TRACER client in Chromium, against VWR: a protected site's page (its own HTTP server on
// shop.localhost) reads VWR's answers exactly as the legacy client script does (the root's
// textContent split on TABs, pieces read by index; tracer_legacy_page.html) and goes through a
// whole cycle: the first visitor enters, two wait with the right counts (one sending pageUrl and
// userAgent with TABs and line breaks in them), check-out with outQueue.do lets the next one in.
// The calls after the first go to the host VWR names in tracer_domain (tracer.localhost), and
// every entry is an isWait "F", never the client's fail-open on a timeout or an error. A page on
// a site that is not one of the rooms' hosts cannot read an answer nor take a place.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import { api, assert, openBrowser, PUBLIC, run, shot } from './lib.mjs';

const PAGE = readFileSync(new URL('./tracer_legacy_page.html', import.meta.url), 'utf8');
const TRACER_PORT = new URL(PUBLIC).port;

function startSite() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(PAGE);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// What the page shows and every answer as it read them.
async function view(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent;
    return {
      state: text('state'), how: text('how'), waitCnt: text('waitCnt'), limitCnt: text('limitCnt'),
      sessionTimeOut: text('sessionTimeOut'), waitQueueSize: text('waitQueueSize'),
      waitMyCnt: text('waitMyCnt'), tracerDomain: text('tracerDomain'), host: text('host'),
      log: window.tracerLog,
    };
  });
}

async function until(page, what, predicate, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await view(page);
    if (predicate(v)) return v;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms; page shows ${JSON.stringify({ ...v, log: v.log.slice(-2) })}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

await run('tracer legacy client', async () => {
  const site = await startSite();
  const siteUrl = `http://shop.localhost:${site.address().port}`;
  const browser = await openBrowser();
  try {
    const calls = [];  // [visitor, URL, status] of every TRACER call
    async function visit(name, extra = {}) {
      const page = await browser.context.newPage();
      page.on('response', (r) => {
        if (r.url().includes('/TRACERAPI/')) calls.push([name, r.url(), r.status()]);
      });
      const query = new URLSearchParams({ loginId: name, tracer: PUBLIC, ...extra });
      await page.goto(`${siteUrl}/sale/item?${query}`);
      return page;
    }

    // A: the room has its one slot free.
    const a = await visit('visitor-a');
    let va = await until(a, 'A enters', (v) => v.state === 'entered');
    assert.equal(va.how, 'isWait=F', 'A entered because the answer said so, not by failing open');
    assert.equal(va.host, 'shop.localhost');
    assert.equal(va.limitCnt, '1');
    assert.equal(va.sessionTimeOut, '45');
    assert.equal(va.tracerDomain, 'tracer.localhost');
    await shot(a, 'tracer-client-a-entered');

    // B: waits, first in line.
    const b = await visit('visitor-b');
    let vb = await until(b, 'B waits', (v) => v.state === 'waiting' && v.log.length >= 2);
    assert.equal(vb.how, 'isWait=T');
    assert.deepEqual(
      [vb.waitCnt, vb.limitCnt, vb.sessionTimeOut, vb.waitQueueSize, vb.waitMyCnt, vb.tracerDomain],
      ['1', '1', '45', '1', '1', 'tracer.localhost']);

    // C: waits behind B, and sends values that would shift every piece after them if VWR let a
    // TAB or a line break through (pageUrl comes before isWait, userAgent before tracer_domain).
    const hostileUrl = `${siteUrl}/sale/x?q=\tF\tF\t0\r\n\tE`;
    const hostileAgent = 'Evil/1.0\tF\t\n0\r\n\tevil.example';
    const c = await visit('visitor-c', { pageUrl: hostileUrl, userAgent: hostileAgent });
    let vc = await until(c, 'C waits', (v) => v.state === 'waiting' && v.log.length >= 2);
    assert.equal(vc.how, 'isWait=T', 'the hostile values did not turn the answer into an entry');
    assert.deepEqual(
      [vc.waitCnt, vc.limitCnt, vc.sessionTimeOut, vc.waitQueueSize, vc.waitMyCnt, vc.tracerDomain],
      ['2', '1', '45', '2', '2', 'tracer.localhost']);
    await shot(b, 'tracer-client-b-waiting');
    await shot(c, 'tracer-client-c-waiting-hostile-values');

    // A checks out with outQueue.do: B enters, C moves up.
    await a.click('#done');
    va = await until(a, 'A checked out', (v) => v.state === 'left');
    vb = await until(b, 'B enters', (v) => v.state === 'entered');
    assert.equal(vb.how, 'isWait=F');
    assert.equal(vb.log.at(-1).waitMyCnt, '1', 'waitMyCnt keeps the place B had in line');
    vc = await until(c, 'C moves up', (v) => v.state === 'waiting' && v.waitCnt === '1');
    assert.equal(vc.waitMyCnt, '2');
    await shot(b, 'tracer-client-b-entered');

    // B checks out: C enters.
    await b.click('#done');
    await until(b, 'B checked out', (v) => v.state === 'left');
    vc = await until(c, 'C enters', (v) => v.state === 'entered');
    assert.equal(vc.how, 'isWait=F');
    await shot(c, 'tracer-client-c-entered');

    // Every answer was read as 16 pieces (13 values and the layout's three empty ones).
    for (const [name, v] of [['A', va], ['B', vb], ['C', vc]]) {
      for (const answer of v.log) assert.equal(answer.pieces, 16, `${name}: ${JSON.stringify(answer)}`);
    }
    // checkBotIp.do and the first inputQueue.do go to the configured host; every call after an
    // answer named tracer_domain goes there, on the same port. All were answered 200.
    for (const name of ['visitor-a', 'visitor-b', 'visitor-c']) {
      const mine = calls.filter(([who]) => who === name);
      assert.ok(mine.length >= 3, `${name}: ${JSON.stringify(mine)}`);
      assert.match(mine[0][1], /\/TRACERAPI\/checkBotIp\.do$/);
      assert.equal(new URL(mine[0][1]).host, new URL(PUBLIC).host);
      assert.equal(new URL(mine[1][1]).host, new URL(PUBLIC).host);
      for (const [, url] of mine.slice(2)) assert.equal(new URL(url).host, `tracer.localhost:${TRACER_PORT}`, url);
      for (const [, url, status] of mine) assert.equal(status, 200, url);
    }
    for (const name of ['visitor-a', 'visitor-b']) {
      assert.ok(calls.some(([who, url]) => who === name && url.endsWith('/TRACERAPI/outQueue.do')), name);
    }
    assert.deepEqual(browser.problems, []);

    // The same client on a site that is not one of the rooms' hosts: VWR refuses its calls
    // without CORS headers, so Chromium does not let the page read them, and no place is taken.
    // (The legacy client then lets its user in: the operator must list every site's origin.)
    const before = (await api('GET', '/api/v1/rooms/sale')).body;
    const evil = await browser.context.newPage();
    await evil.goto(`http://evil.localhost:${site.address().port}/sale/item?${new URLSearchParams({ loginId: 'visitor-e', tracer: PUBLIC })}`);
    const ve = await until(evil, 'the refused page gives up', (v) => v.how.startsWith('fail-open'));
    assert.equal(ve.how, 'fail-open: network error', 'the browser blocked the read');
    assert.equal(ve.log.length, 0, 'no answer was read');
    const after = (await api('GET', '/api/v1/rooms/sale')).body;
    assert.deepEqual([after.active, after.queueSize], [before.active, before.queueSize]);
    assert.ok(browser.problems.length > 0);
    for (const p of browser.problems) assert.match(p, /CORS policy/, p);
  } finally {
    await browser.close();
    site.close();
  }
});
