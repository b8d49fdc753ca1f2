// Proof of work in a real browser: the waiting page of a room with pow_difficulty is refused its
// first join (pow_required), fetches a challenge, solves it in a Web Worker (/sdk/pow.js) and
// joins with the solution, which the server accepts; the visitor lands on the return URL. Then
// the SDK's enter() on another page does the same and gets an admission token, and the solution
// it used is refused when replayed; and the on-page solver (no worker) is accepted too.

import { api, assert, openBrowser, PUBLIC, run } from './lib.mjs';

const ROOM = 'pow';

// Every join the page sends, with the answer's status and error code, and the body sent, in
// the order answered; `await settled(joins)` once the page is done, for the error codes. The
// joins pass through a route that reads each answer before handing it to the page: a body read
// from a 'response' event afterwards can be gone once the page has moved on to the return URL.
async function recordJoins(page) {
  const joins = [];
  joins.pending = [];
  await page.route(`**/api/v1/rooms/${ROOM}/join`, async (route) => {
    const response = await route.fetch();
    const text = await response.text();
    let code = null;
    try {
      code = JSON.parse(text)?.error?.code ?? null;
    } catch {
      // not JSON: no error code
    }
    joins.push({ status: response.status(), code,
      body: JSON.parse(route.request().postData() || '{}') });
    await route.fulfill({ response, body: text });
  });
  return joins;
}

async function settled(joins) {
  return joins.map((j) => [j.status, j.code]);
}

await run('proof of work', async () => {
  const browser = await openBrowser({ extraHTTPHeaders: { 'Accept-Language': 'en' } });
  try {
    // The waiting page.
    const page = await browser.page();
    const workers = [];
    page.on('worker', (w) => workers.push(w.url()));
    const joins = await recordJoins(page);
    await page.goto(`${PUBLIC}/wait/${ROOM}?return=%2Fdemo%2Finside`);
    await page.waitForURL(`${PUBLIC}/demo/inside`, { timeout: 30000 });
    assert.ok(workers.some((u) => new URL(u).pathname === '/sdk/pow.js'),
      `solved in a worker: ${JSON.stringify(workers)}`);
    assert.deepEqual(await settled(joins), [[403, 'pow_required'], [200, null]]);
    const solved = joins[1].body;
    assert.equal(typeof solved.challenge, 'string');
    assert.match(solved.nonce, /^[0-9]+$/);
    // The admission came with the cookie nginx checks.
    const verify = await page.request.get(`${PUBLIC}/api/v1/verify?room=${ROOM}`);
    assert.equal(verify.status(), 204);

    // The same solution again, outside the browser: spent.
    const replay = await api('POST', `/api/v1/rooms/${ROOM}/join`, { body: solved });
    assert.equal(replay.status, 403);
    assert.equal(replay.body.error.code, 'pow_replayed');

    // The SDK from a page's own script: enter() solves and joins by itself, reporting progress.
    const sdkPage = await browser.context.newPage();
    const sdkJoins = await recordJoins(sdkPage);
    await sdkPage.goto(`${PUBLIC}/`);
    const result = await sdkPage.evaluate(async (room) => {
      const { Waiter } = await import('/sdk/vwr.js');
      const states = [];
      const waiter = new Waiter(room, {
        userId: 'pow-sdk-user',
        onUpdate: (u) => states.push({ state: u.state, pow: u.pow ?? null }),
      });
      const answer = await waiter.start();
      return { status: answer.status, token: answer.token, states };
    }, ROOM);
    assert.equal(result.status, 'admitted');
    assert.match(result.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const solving = result.states.filter((s) => s.state === 'joining' && s.pow);
    assert.ok(solving.length >= 1, JSON.stringify(result.states));
    assert.equal(solving[0].pow.difficulty, 14);
    assert.deepEqual(await settled(sdkJoins), [[403, 'pow_required'], [200, null]]);
    assert.notEqual(sdkJoins[1].body.challenge, solved.challenge, 'a fresh challenge');

    // Without a worker (the SDK loaded from another origin), the page solves it itself, in
    // slices; the server accepts that solution too.
    const onPage = await sdkPage.evaluate(async (room) => {
      const { solve } = await import('/sdk/pow.js');
      const c = await (await fetch(`/api/v1/rooms/${room}/challenge`)).json();
      let progress = 0;
      const nonce = await solve(c.challenge, c.difficulty, { onProgress: (n) => { progress = n; } });
      const res = await fetch(`/api/v1/rooms/${room}/join`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ challenge: c.challenge, nonce }),
      });
      return { status: res.status, progress, nonce };
    }, ROOM);
    assert.equal(onPage.status, 200, JSON.stringify(onPage));
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.close();
  }
});
