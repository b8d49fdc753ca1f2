// The waiting page in a real browser: a place in line shown in the live region, moving forward
// as people ahead leave, kept across a reload and a language switch, readable on a phone, and
// admitted to the return URL at the end. Screenshots (English, Korean, phone) go to ARTIFACTS.
//
// Room "line" (run.py): max_active 1, a low admit_rate. Two API users wait ahead of the browser
// behind one holder of the only slot.

import {
  assert, checkAccessibility, claim, join, leave, openBrowser, PUBLIC, run, shot,
} from './lib.mjs';

const ROOM = 'line';
const URL_EN = `${PUBLIC}/wait/${ROOM}?return=%2Fdemo%2Finside`;

async function position(page) {
  const text = await page.locator('[data-vwr="position"]').textContent();
  return Number(text.replace(/[^0-9]/g, ''));
}

await run('waiting page', async () => {
  const holder = await join(ROOM);
  assert.equal(holder.status, 'admitted');
  const first = await join(ROOM);
  const second = await join(ROOM);
  assert.equal(first.status, 'waiting');
  assert.equal(second.position, first.position + 1);

  const browser = await openBrowser({
    locale: 'en-US',
    extraHTTPHeaders: { 'Accept-Language': 'en-US,en;q=0.9' },
  });
  try {
    const page = await browser.page();
    await page.goto(URL_EN);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');

    // The browser joined behind the two API users.
    const live = page.locator('[aria-live="polite"]');
    await page.waitForFunction(() => document.querySelector('#vwr-wait').dataset.state === 'waiting');
    const start = await position(page);
    assert.equal(start, second.position + 1, 'the browser is behind both API users');
    assert.ok(start >= 1);
    assert.match(await live.textContent(), new RegExp(`You are number ${start} in line`));
    assert.equal(await page.locator('h1').textContent(), 'You are in line');
    assert.equal(await page.locator('[data-vwr="people_ahead"]').textContent(), String(start - 1));
    assert.notEqual(await page.locator('[data-vwr="eta"]').textContent(), '');
    assert.match(await page.locator('time[data-vwr="updated"]').textContent(), /\d/);
    // Accessible names: the progress bar has a label, the live region announces politely.
    assert.equal(await page.getByRole('progressbar', { name: 'Progress' }).count(), 1);
    assert.equal(await page.getByRole('status').count(), 1);
    assert.equal(await page.locator('a[data-lang="en"]').getAttribute('aria-current'), 'true');
    await shot(page, 'waiting-page-en');
    await checkAccessibility(page, 'waiting-page-en');

    // A reload keeps the place: the page joins again bringing the ticket it kept (a userId
    // alone would not get the place back).
    const kept = await page.evaluate(() => {
      const key = Object.keys(localStorage).find((k) => k.endsWith(':ticket'));
      return localStorage.getItem(key);
    });
    const rejoin = page.waitForRequest((r) => r.url().endsWith('/join') && r.method() === 'POST');
    await page.reload();
    assert.equal((await rejoin).headers()['x-vwr-ticket'], kept, 'the re-join brings the ticket');
    await page.waitForFunction(() => document.querySelector('#vwr-wait').dataset.state === 'waiting');
    assert.equal(await position(page), start, 'a reload keeps the place');

    // The language switch (a link, so it works from the keyboard) keeps the place too.
    await page.getByRole('link', { name: '한국어' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/lang=ko/);
    await page.waitForFunction(() => document.querySelector('#vwr-wait').dataset.state === 'waiting');
    assert.equal(await page.getAttribute('html', 'lang'), 'ko');
    assert.equal(await page.locator('h1').textContent(), '잠시만 기다려 주세요');
    assert.equal(await position(page), start, 'switching the language keeps the place');
    assert.match(await live.textContent(), new RegExp(`현재 대기 순번은 ${start}번입니다`));
    assert.ok(new URL(page.url()).searchParams.get('return') === '/demo/inside');
    await shot(page, 'waiting-page-ko');
    await checkAccessibility(page, 'waiting-page-ko');

    // Korean from Accept-Language alone, on a phone-sized screen, without horizontal scrolling.
    const phone = await openBrowser({
      viewport: { width: 360, height: 740 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'ko-KR',
      extraHTTPHeaders: { 'Accept-Language': 'ko-KR,ko;q=0.9,en;q=0.5' },
    });
    try {
      const small = await phone.page();
      await small.goto(URL_EN);
      await small.waitForFunction(() => document.querySelector('#vwr-wait').dataset.state === 'waiting');
      assert.equal(await small.getAttribute('html', 'lang'), 'ko');
      const widths = await small.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      assert.ok(widths.scroll <= widths.client, `no horizontal scroll at 360px: ${JSON.stringify(widths)}`);
      await shot(small, 'waiting-page-phone-ko');
      await checkAccessibility(small, 'waiting-page-phone-ko');
      assert.deepEqual(phone.problems, []);
    } finally {
      await phone.close();
    }

    // The holder leaves: the first API user is called, and everyone behind moves up.
    await leave(ROOM, holder.token);
    await page.waitForFunction((p) => {
      const n = Number(document.querySelector('[data-vwr="position"]').textContent.replace(/\D/g, ''));
      return n > 0 && n < p;
    }, start);
    const moved = await position(page);
    assert.equal(moved, start - 1);
    assert.match(await live.textContent(), new RegExp(`${moved}번`));
    await page.waitForFunction(() => Number(document.querySelector('progress').value) > 0);

    // The first claims and leaves, then the second: the browser is called and goes in.
    const firstIn = await claim(ROOM, first.ticket);
    await leave(ROOM, firstIn.token);
    await page.waitForFunction((p) => {
      const n = Number(document.querySelector('[data-vwr="position"]').textContent.replace(/\D/g, ''));
      return n > 0 && n < p;
    }, moved);
    const secondIn = await claim(ROOM, second.ticket);
    await leave(ROOM, secondIn.token);

    await page.waitForURL(`${PUBLIC}/demo/inside`, { timeout: 15000 });
    assert.equal(await page.locator('h1').textContent(), 'You are in');
    await checkAccessibility(page, 'demo-inside-en');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.close();
  }
});
