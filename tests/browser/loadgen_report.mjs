// The `vwr loadgen` HTML report opened in Chromium: a real crowd runs against the server under
// test, and its --html page, opened from a file with every network request refused, must show
// its figures and draw all its charts (uPlot is inlined: nothing is fetched), without a script
// error. A report is mailed to colleagues: it has to stand on its own.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { assert, openBrowser, PUBLIC, run, shot } from './lib.mjs';

const VWR = process.env.VWR_BINARY || path.resolve('../../build/vwr');

await run('loadgen report', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vwr-loadgen-report-'));
  const browser = await openBrowser();
  try {
    const html = path.join(dir, 'report.html');
    const json = path.join(dir, 'report.json');
    const done = spawnSync(VWR, ['loadgen', '--target', PUBLIC, '--room', 'sale',
      '--arrivals', 'ramp:2:8:3s', '--duration', '5s', '--hold', 'uniform:500ms:1500ms',
      '--protocol', 'mix:0.3', '--tracer-poll', '500ms', '--seed', '11', '--quiet',
      '--fail-on', 'fairness,active',
      '--json', json, '--html', html], { encoding: 'utf8', timeout: 30000 });
    assert.equal(done.status, 0, done.stdout + done.stderr);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    assert.ok(report.admitted > 0 && report.peak_waiting > 0, JSON.stringify(report));

    const page = await browser.page();
    const fetched = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      fetched.push(url);
      return route.abort();
    });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(pathToFileURL(html).href);
    await page.waitForFunction(() => document.querySelectorAll('.uplot canvas').length >= 6);

    // The charts: one uPlot per figure over time, each with its title and drawn pixels.
    const titles = await page.$$eval('.uplot .u-title', (els) => els.map((e) => e.textContent));
    assert.deepEqual(titles, [
      'Requests per second, by endpoint', 'People waiting and sessions held',
      'Arrivals and admissions per second', 'Latency (all endpoints)',
      'Answers per second, by outcome', 'Wait from arrival to admission (distribution)']);
    const drawn = await page.$$eval('.uplot canvas', (canvases) => canvases.map((c) => {
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 3; i < data.length; i += 4) ink += data[i] > 0 ? 1 : 0;
      return ink;
    }));
    for (const ink of drawn) assert.ok(ink > 500, `a chart drew ${ink} pixels: ${drawn}`);
    // The requests chart has a line per endpoint the crowd called, the limit line is there.
    const legends = await page.$$eval('.uplot', (plots) => plots.map((p) =>
      [...p.querySelectorAll('.u-legend .u-series th')].map((t) => t.textContent.trim())));
    for (const endpoint of ['join', 'status', 'tracer_input']) {
      assert.ok(legends[0].includes(endpoint), JSON.stringify(legends[0]));
    }
    assert.ok(legends[1].includes('max_active'), JSON.stringify(legends[1]));

    // The verdict on the checks asked for comes first.
    assert.equal(await page.textContent('#verdict'), 'PASSED: fifo, positions, active');
    // The figures: the cards and tables say what the JSON says.
    const cards = await page.$$eval('.card', (els) => Object.fromEntries(els.map((e) =>
      [e.lastChild.textContent, e.querySelector('b').textContent])));
    assert.equal(cards.requests, report.requests.toLocaleString('en'));
    assert.equal(cards.admitted, report.admitted.toLocaleString('en'));
    assert.equal(cards['FIFO violations'], '0');
    assert.equal(cards['peak sessions held'], `${report.peak_active} / 4`);
    const endpoints = await page.$$eval('#endpoints tr td:first-child', (els) => els.map((e) => e.textContent));
    assert.ok(endpoints.includes('join') && endpoints.includes('status'), endpoints.join());
    await shot(page, 'loadgen-report');

    assert.deepEqual(fetched, [], 'the report fetched nothing');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
