// Time left inside (rooms[].session_max): after the waiting page lets a visitor in, the
// protected page shows the time left from the admission's sessionEndsAt, warns before the end
// (at 10 s left for a 20 s cap: never for more than half the session), and says when the time
// is up; in English and Korean.

import { assert, openBrowser, PUBLIC, run, shot } from './lib.mjs';

const TEXTS = {
  en: { left: /^Time left: 0:(\d\d)$/, warning: 'Your time inside is almost up. Finish what you are doing.', ended: 'Your time inside is up.' },
  ko: { left: /^남은 이용 시간: 0:(\d\d)$/, warning: '이용 시간이 곧 끝납니다. 진행 중인 일을 마무리해 주세요.', ended: '이용 시간이 끝났습니다.' },
};

const sessionState = (page, s, timeout = 25000) =>
  page.waitForFunction((want) => document.querySelector('#vwr-inside')?.dataset.session === want, s, { timeout });

await run('session time', async () => {
  await Promise.all(['en', 'ko'].map(async (lang) => {
    const t = TEXTS[lang];
    const browser = await openBrowser({ extraHTTPHeaders: { 'Accept-Language': lang } });
    try {
      const page = await browser.page();
      await page.goto(`${PUBLIC}/wait/timed?lang=${lang}&return=${encodeURIComponent(`/demo/inside?lang=${lang}`)}`);
      await page.waitForURL(/\/demo\/inside/);
      await sessionState(page, 'inside', 5000);
      // What the admission said, as the SDK kept it for the page: the cap, and its end.
      const kept = JSON.parse(await page.evaluate(() => sessionStorage.getItem('vwr:timed:ends')));
      assert.equal(kept.maxSeconds, 20);
      const endsIn = kept.endsAt - Date.now();
      assert.ok(endsIn > 10000 && endsIn <= 21000, `ends in ${endsIn} ms`);

      const box = page.locator('[data-vwr-session] .banner');
      const left = (await box.locator('.left').textContent()).trim();
      const m = left.match(t.left);
      assert.ok(m, `the time left as a clock: "${left}"`);
      assert.ok(Number(m[1]) > 10 && Number(m[1]) <= 20, left);
      assert.equal((await box.locator('.warning').textContent()).trim(), '');
      await shot(page, `session-time-left-${lang}`);

      await sessionState(page, 'warning');
      const warned = (await box.locator('.left').textContent()).trim().match(t.left);
      assert.ok(warned && Number(warned[1]) <= 10, 'the warning comes with 10 s left');
      assert.equal((await box.locator('.warning').textContent()).trim(), t.warning);
      assert.equal(await box.getAttribute('data-state'), 'warning');
      await shot(page, `session-time-warning-${lang}`);

      await sessionState(page, 'ended');
      assert.equal((await box.locator('.left').textContent()).trim(), t.ended);
      await shot(page, `session-time-ended-${lang}`);
      assert.deepEqual(browser.problems, []);
    } finally {
      await browser.close();
    }
  }));
}, 60000);
