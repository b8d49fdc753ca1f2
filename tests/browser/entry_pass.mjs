// The entry pass in a real browser: the waiting page admits a visitor and the server sets the
// admission and entry pass cookies; the visitor's session ends, the room fills up and a line
// forms; the visitor comes back to the waiting page and is let in at once, by the pass, while the
// line still waits. Then nginx's question (/api/v1/verify) is asked with the browser's cookies.

import { api, assert, join, leave, openBrowser, PUBLIC, run, shot } from './lib.mjs';

await run('entry pass', async () => {
  const browser = await openBrowser({ extraHTTPHeaders: { 'Accept-Language': 'en' } });
  try {
    const page = await browser.page();

    // First visit: the room is empty, in at once.
    await page.goto(`${PUBLIC}/wait/pass?return=%2Fdemo%2Finside`);
    await page.waitForURL(`${PUBLIC}/demo/inside`);
    const cookies = Object.fromEntries(
      (await browser.context.cookies(PUBLIC)).map((c) => [c.name, c]),
    );
    for (const name of ['vwr_pass', 'vwr_pass_pass']) {
      assert.ok(cookies[name], `cookie ${name} is set: ${JSON.stringify(Object.keys(cookies))}`);
      assert.equal(cookies[name].httpOnly, true, name);
      assert.equal(cookies[name].sameSite, 'Lax', name);
      assert.equal(cookies[name].path, '/', name);
    }
    // Scripts cannot read them; the SDK keeps its own copy of the pass.
    assert.equal(await page.evaluate(() => document.cookie.includes('vwr_')), false);
    const kept = JSON.parse(await page.evaluate(() => localStorage.getItem('vwr:pass:pass')));
    assert.equal(kept.pass, cookies.vwr_pass_pass.value);
    const token = await page.evaluate(() => sessionStorage.getItem('vwr:pass:token'));
    assert.equal(token, cookies.vwr_pass.value);

    // What nginx asks, with the browser's cookies: admitted.
    let verify = await page.request.get(`${PUBLIC}/api/v1/verify?room=pass`);
    assert.equal(verify.status(), 204);

    // The session ends; someone else takes the only slot, and a line forms behind them.
    await leave('pass', token);
    verify = await page.request.get(`${PUBLIC}/api/v1/verify?room=pass`);
    assert.equal(verify.status(), 401, 'a left session no longer passes');
    const taker = await join('pass');
    assert.equal(taker.status, 'admitted', JSON.stringify(taker));
    const waiting = await join('pass');
    assert.equal(waiting.status, 'waiting', JSON.stringify(waiting));

    // Back to the waiting page: the old place is over, the pass lets the visitor in at once.
    await page.goto(`${PUBLIC}/wait/pass?return=%2Fdemo%2Finside%3Fback%3D1`);
    await page.waitForURL(`${PUBLIC}/demo/inside?back=1`);
    await shot(page, 'entry-pass-back-inside');
    verify = await page.request.get(`${PUBLIC}/api/v1/verify?room=pass`);
    assert.equal(verify.status(), 204, 'the new admission cookie passes');
    const line = await api('GET', `/api/v1/rooms/pass/status`, {
      headers: { 'X-VWR-Ticket': waiting.ticket },
    });
    assert.equal(line.body.status, 'waiting', 'the line still waits');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.close();
  }
});
