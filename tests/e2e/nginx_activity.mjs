// A visitor who only browses a site behind nginx (deploy/nginx/vwr.conf) stays inside: admitted
// through the waiting page, then a protected page every half second for 12 s, in a real
// browser without the SDK. Room "line": session_timeout 3 s, and so tokens of 3 s. Each page is
// an auth_request that refreshes the session (coalesced) and, past half the token's lifetime,
// hands a fresh vwr_line cookie to the browser through nginx's add_header.
//
// Run by tests/e2e/nginx_activity.py as `node nginx_activity.mjs <site URL> <admin URL> <token>`.

import { ADMIN, ADMIN_TOKEN, assert, openBrowser, PUBLIC as SITE, run } from '../browser/lib.mjs';

const ROOM = 'line';
const COOKIE = `vwr_${ROOM}`;
const BROWSE_MS = 12000;

async function metric(name) {
  const res = await fetch(`${ADMIN}/metrics`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

async function cookieOf(browser) {
  const cookies = (await browser.context.cookies(SITE)).filter((c) => c.name === COOKIE);
  return cookies.length === 1 ? cookies[0] : null;
}

await run('browsing behind nginx past the session timeout and the token lifetime', async () => {
  const browser = await openBrowser({ locale: 'en-US' });
  try {
    const page = await browser.page();
    // Not admitted yet: the waiting page admits at once (the room has room) and goes back.
    await page.goto(`${SITE}/protected/start`);
    await page.waitForURL(`${SITE}/protected/start`, { timeout: 10000 });
    await page.locator('#protected').waitFor();
    const first = await cookieOf(browser);
    assert.ok(first, 'admitted: the cookie is set');
    const refreshesBefore = await metric('vwr_verify_session_refreshes_total');

    const started = Date.now();
    const seen = new Set([first.value]);
    let pages = 0;
    while (Date.now() - started < BROWSE_MS) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const response = await page.goto(`${SITE}/protected/page-${pages}`);
      pages += 1;
      const at = Date.now() - started;
      assert.equal(response.request().redirectedFrom(), null,
        `page ${pages} at ${at} ms: not sent back to the waiting page (landed on ${response.url()})`);
      assert.equal(response.status(), 200, `page ${pages} at ${at} ms`);
      assert.equal(await page.locator('#cookie').textContent(), 'yes');
      const cookie = await cookieOf(browser);
      assert.ok(cookie, `page ${pages}: the cookie is there`);
      seen.add(cookie.value);
    }
    // 12 s is four session timeouts and four token lifetimes: the cookie was renewed on the way.
    assert.ok(pages >= 15, `pages opened: ${pages}`);
    assert.ok(seen.size >= 4, `the cookie was renewed through nginx (${seen.size} tokens seen)`);
    // The session was refreshed, but not once per page: at most once a second (a tenth of
    // 3 s, 1 s at least) for this one session.
    const refreshes = (await metric('vwr_verify_session_refreshes_total')) - refreshesBefore;
    assert.ok(refreshes >= 4, `the session was refreshed (${refreshes})`);
    assert.ok(refreshes <= Math.ceil((Date.now() - started) / 1000) + 1,
      `at most one store write per second for one session (${refreshes} for ${pages} pages)`);

    // The first token, replayed now: expired, back to the waiting page.
    await browser.context.addCookies([first]);
    const replayed = await page.request.get(`${SITE}/protected/replay`, { maxRedirects: 0 });
    assert.equal(replayed.status(), 302, 'an old token, replayed after its renewals, is refused');
    assert.deepEqual(browser.problems, [], 'the pages reported no problem');
  } finally {
    await browser.close();
  }
}, 60000);
