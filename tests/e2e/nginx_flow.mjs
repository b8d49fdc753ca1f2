// nginx in front of a protected site (deploy/nginx/vwr.conf), in a real browser: a visitor to a
// protected URL lands on the waiting page, sees the position go down as people ahead leave, is
// admitted, arrives back at the protected page with the admission cookie, and nginx serves the
// site; a tampered cookie sends them back to the waiting page. Screenshots of the waiting page,
// in Korean and in English, go to ARTIFACTS.
//
// Run by tests/e2e/nginx_flow.py as `node nginx_flow.mjs <site URL> <admin URL> <admin token>`:
// the site URL is nginx, and the API is reached through it too (same origin, as a visitor's
// browser reaches it). Room "line" has one slot.

import { assert, api, claim, join, leave, openBrowser, PUBLIC as SITE, run, shot } from '../browser/lib.mjs';

const ROOM = 'line';
const COOKIE = `vwr_${ROOM}`;
const PROTECTED = `${SITE}/protected/page?x=1&y=%ED%95%9C`;

async function position(page) {
  const text = await page.locator('[data-vwr="position"]').textContent();
  return Number(text.replace(/[^0-9]/g, ''));
}

async function waitPosition(page, expected, what) {
  await page.waitForFunction(
    (n) => {
      const main = document.querySelector('#vwr-wait');
      const el = main?.querySelector('[data-vwr="position"]');
      return main?.dataset.state === 'waiting' && Number(el.textContent.replace(/[^0-9]/g, '')) === n;
    },
    expected,
    { timeout: 10000 },
  ).catch(async (e) => {
    throw new Error(`${what}: position ${expected} not shown (shown: ${await position(page)}): ${e.message}`);
  });
}

async function progressValue(page) {
  return Number(await page.locator('#vwr-progress').getAttribute('value'));
}

// Goes to the protected URL and checks that nginx sent the visitor to the waiting page (302 to
// /wait/line with this URL as return). Returns the page's URL as it arrived.
async function visitExpectingTheWaitingPage(page, what) {
  const response = await page.goto(PROTECTED, { waitUntil: 'commit' });
  assert.ok(response, `${what}: a response`);
  const redirect = response.request().redirectedFrom();
  assert.ok(redirect, `${what}: the protected URL redirected (landed on ${response.url()})`);
  assert.equal(redirect.url(), PROTECTED);
  const first = await redirect.response();
  assert.equal(first.status(), 302, what);
  const landed = new URL(response.url());
  assert.equal(landed.origin, SITE, `${what}: the waiting page is on the site's own origin`);
  assert.equal(landed.pathname, `/wait/${ROOM}`, what);
  assert.equal(new URL(landed.searchParams.get('return'), SITE).href, PROTECTED,
    `${what}: the original URL is the return address`);
  assert.equal(response.status(), 200, what);
  return landed;
}

function tamper(token) {
  // One character of the signature changed: the token no longer verifies.
  const [head, payload, sig] = token.split('.');
  const i = Math.floor(sig.length / 2);
  const swapped = sig[i] === 'A' ? 'B' : 'A';
  return [head, payload, sig.slice(0, i) + swapped + sig.slice(i + 1)].join('.');
}

await run('nginx in front of a protected site', async () => {
  // Without admission, nginx does not reach the site: a plain request gets the redirect.
  const direct = await fetch(PROTECTED, { redirect: 'manual' });
  assert.equal(direct.status, 302);
  assert.match(direct.headers.get('location'), new RegExp(`/wait/${ROOM}\\?`));

  // The only slot is taken, and one more user waits ahead of the browsers.
  const holder = await join(ROOM);
  assert.equal(holder.status, 'admitted', JSON.stringify(holder));
  const ahead = await join(ROOM);
  assert.equal(ahead.status, 'waiting', JSON.stringify(ahead));
  assert.equal(ahead.position, 1);
  // A token is enough for nginx too (Authorization: Bearer, for API clients).
  const withToken = await fetch(PROTECTED, { headers: { Authorization: `Bearer ${holder.token}` } });
  assert.equal(withToken.status, 200);
  assert.match(await withToken.text(), /id="room">line</);

  const korean = await openBrowser({
    locale: 'ko-KR',
    extraHTTPHeaders: { 'Accept-Language': 'ko-KR,ko;q=0.9,en;q=0.5' },
  });
  const english = await openBrowser({
    locale: 'en-US',
    extraHTTPHeaders: { 'Accept-Language': 'en-US,en;q=0.9' },
  });
  try {
    // ---- both visitors land on the waiting page, behind the API user ----
    const ko = await korean.page();
    await visitExpectingTheWaitingPage(ko, 'Korean visitor');
    await waitPosition(ko, 2, 'Korean visitor, behind one');
    assert.equal(await ko.getAttribute('html', 'lang'), 'ko');
    assert.equal(await ko.locator('h1').textContent(), '잠시만 기다려 주세요');
    assert.match(await ko.locator('[aria-live="polite"]').textContent(), /현재 대기 순번은 2번입니다/);
    assert.equal(await ko.locator('[data-vwr="people_ahead"]').textContent(), '1');

    const en = await english.page();
    await visitExpectingTheWaitingPage(en, 'English visitor');
    await waitPosition(en, 3, 'English visitor, behind two');
    assert.equal(await en.getAttribute('html', 'lang'), 'en');
    assert.equal(await en.locator('h1').textContent(), 'You are in line');
    assert.match(await en.locator('[aria-live="polite"]').textContent(), /You are number 3 in line/);
    assert.equal(await en.locator('[data-vwr="people_ahead"]').textContent(), '2');
    assert.equal(await progressValue(en), 0, 'no progress yet');
    assert.match(await en.locator('time[data-vwr="updated"]').textContent(), /\d/);

    await shot(ko, 'nginx-waiting-page-ko');
    await shot(en, 'nginx-waiting-page-en');
    assert.equal((await korean.context.cookies(SITE)).filter((c) => c.name === COOKIE).length, 0,
      'no admission cookie while waiting');

    // ---- the holder leaves: the API user is called; everyone behind moves up ----
    await leave(ROOM, holder.token);
    const second = await claim(ROOM, ahead.ticket);
    await waitPosition(ko, 1, 'Korean visitor after one left');
    await waitPosition(en, 2, 'English visitor after one left');
    assert.equal(await ko.locator('[data-vwr="people_ahead"]').textContent(), '0');
    // 100 - position / initialPosition × 100: from 2 to 1 is half way, from 3 to 2 a third.
    assert.equal(await progressValue(ko), 50);
    assert.equal(await progressValue(en), 33);
    await shot(ko, 'nginx-waiting-page-ko-moved');
    await shot(en, 'nginx-waiting-page-en-moved');
    // The move came through the ticket's event stream, which nginx passes on unbuffered
    // (X-Accel-Buffering: no).
    for (const page of [ko, en]) {
      assert.equal(await page.locator('#vwr-wait').getAttribute('data-channel'), 'stream');
    }

    // ---- the API user leaves: the Korean visitor is admitted and goes back to the site ----
    await leave(ROOM, second.token);
    await ko.waitForURL(PROTECTED, { timeout: 10000 });
    await ko.locator('#protected').waitFor();
    assert.equal(await ko.locator('h1').textContent(), 'Protected page');
    assert.equal(await ko.locator('#path').textContent(), '/protected/page?x=1&y=%ED%95%9C');
    assert.equal(await ko.locator('#room').textContent(), ROOM, 'nginx handed on X-VWR-Room');
    assert.notEqual(await ko.locator('#subject').textContent(), '', 'and X-VWR-Subject');
    assert.equal(await ko.locator('#cookie').textContent(), 'yes', 'the cookie came with the request');
    const cookies = (await korean.context.cookies(SITE)).filter((c) => c.name === COOKIE);
    assert.equal(cookies.length, 1, `the ${COOKIE} cookie is set on the site`);
    const cookie = cookies[0];
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.ok(cookie.expires > Date.now() / 1000, 'with a Max-Age');
    assert.equal(cookie.value.split('.').length, 3, 'the cookie holds the admission token');
    // The token is good with the API as well.
    const beat = await api('POST', `/api/v1/rooms/${ROOM}/heartbeat`, { token: cookie.value });
    assert.equal(beat.status, 204, JSON.stringify(beat.body));
    // Another page of the site: straight in, no waiting page.
    const again = await ko.goto(`${SITE}/protected/other`);
    assert.equal(again.status(), 200);
    assert.equal(again.request().redirectedFrom(), null);
    assert.equal(await ko.locator('#path').textContent(), '/protected/other');

    // The English visitor is next in line.
    await waitPosition(en, 1, 'English visitor after two left');

    // ---- a tampered cookie: back to the waiting page ----
    await korean.context.addCookies([{ ...cookie, value: tamper(cookie.value) }]);
    const tamperedFetch = await ko.request.get(PROTECTED, { maxRedirects: 0 });
    assert.equal(tamperedFetch.status(), 302, 'the tampered cookie is refused');
    await visitExpectingTheWaitingPage(ko, 'Korean visitor with a tampered cookie');
    await ko.goto('about:blank');

    // ---- the Korean visitor's session ends: the English visitor gets in ----
    await leave(ROOM, cookie.value);
    await en.waitForURL(PROTECTED, { timeout: 10000 });
    await en.locator('#protected').waitFor();
    assert.equal(await en.locator('#cookie').textContent(), 'yes');
    assert.equal((await english.context.cookies(SITE)).filter((c) => c.name === COOKIE).length, 1);
    // The ended session's token is refused now: the real cookie no longer lets anyone in.
    // (Revocation reaches /api/v1/verify within a second.)
    await korean.context.addCookies([cookie]);
    const deadline = Date.now() + 3000;
    for (;;) {
      const ended = await ko.request.get(PROTECTED, { maxRedirects: 0 });
      if (ended.status() === 302) break;
      assert.equal(ended.status(), 200);
      assert.ok(Date.now() < deadline, 'a token of an ended session is refused within a second');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    assert.deepEqual(korean.problems, [], 'the Korean visitor\'s pages reported no problem');
    assert.deepEqual(english.problems, [], 'the English visitor\'s pages reported no problem');
  } finally {
    await korean.close();
    await english.close();
  }
}, 80000);
