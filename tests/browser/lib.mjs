// Shared helpers of the browser tests: start Debian's Chromium headless with a fresh profile,
// talk to the server under test, save screenshots, fail on what a browser reports (script
// errors, Content-Security-Policy violations) and on what axe-core finds inaccessible.
//
// Every test is run as `node <test>.mjs <public URL> <admin URL> <admin token>` by run.py, which
// starts its own `vwr serve` first.

import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export { assert };

export const [PUBLIC, ADMIN, ADMIN_TOKEN] = process.argv.slice(2);
if (!PUBLIC) {
  console.error('usage: node <test>.mjs <public URL> <admin URL> <admin token>');
  process.exit(2);
}

export const ARTIFACTS = process.env.VWR_ARTIFACTS_DIR || path.resolve('artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

const CHROMIUM = process.env.VWR_CHROMIUM || '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// A browser with a profile of its own in a fresh temporary directory (removed by close()).
// Options are Playwright's context options (viewport, locale, extraHTTPHeaders...).
export async function openBrowser(options = {}) {
  const profile = mkdtempSync(path.join(tmpdir(), 'vwr-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1024, height: 800 },
    ...options,
  });
  const problems = [];
  const watch = (page) => {
    page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
        problems.push(`console error: ${m.text()}`);
      }
      if (/Content Security Policy|Content-Security-Policy/.test(m.text())) {
        problems.push(`CSP: ${m.text()}`);
      }
    });
  };
  context.on('page', watch);
  for (const page of context.pages()) watch(page);
  return {
    context,
    problems,
    async page() {
      const existing = context.pages().find((p) => p.url() === 'about:blank');
      return existing ?? context.newPage();
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Transitions (the progress bar's width) are run to their end first, so that the picture shows
// what the page settles on.
export async function shot(page, name, { fullPage = true } = {}) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  // The progress bar's width transition runs on a pseudo-element that `animations: 'disabled'`
  // does not reach; with reduced motion (which the pages honour) the bar shows its value at once.
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await page.screenshot({ path: file, fullPage, animations: 'disabled' });
  await page.emulateMedia({ reducedMotion: null });
  console.log(`screenshot: ${file}`);
  return file;
}

// axe-core (npm, pinned in package-lock.json), the accessibility rules engine: its source is
// evaluated in the page through the DevTools protocol, which the pages' Content-Security-Policy
// does not govern, so the pages are checked under the policy they really have.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// WCAG 2.1 A and AA, and axe's best practices (landmarks, one main, headings in order).
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
const FAILING_IMPACTS = new Set(['serious', 'critical']);

// Runs axe on the page as it is now and fails on any serious or critical violation (contrast,
// names and labels, lang, landmarks...), naming the rule, the elements and axe's advice. Every
// violation, the moderate and minor ones too, is written to ARTIFACTS/<name>.axe.json.
export async function checkAccessibility(page, name) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(AXE_SOURCE);
  }
  const result = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
      iframes: false,
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, impact: n.impact, summary: n.failureSummary })),
    }));
  }, AXE_TAGS);
  writeFileSync(path.join(ARTIFACTS, `${name}.axe.json`), JSON.stringify(result, null, 2));
  const failing = result.filter((v) => FAILING_IMPACTS.has(v.impact));
  for (const v of result.filter((x) => !FAILING_IMPACTS.has(x.impact))) {
    console.log(`axe ${name}: ${v.impact} ${v.id} (${v.nodes.length}): ${v.help}`);
  }
  if (failing.length > 0) {
    const text = failing.map((v) => `  ${v.impact} ${v.id}: ${v.help}\n` + v.nodes.slice(0, 5)
      .map((n) => `    ${JSON.stringify(n.target)}: ${n.summary.replace(/\n/g, ' ')}`).join('\n'))
      .join('\n');
    assert.fail(`${name}: accessibility violations (axe-core):\n${text}`);
  }
  console.log(`axe ${name}: no serious or critical violations`);
  return result;
}

// One JSON request to the server under test; { status, body }.
export async function api(method, url, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(url.startsWith('http') ? url : PUBLIC + url, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export async function join(room) {
  const r = await api('POST', `/api/v1/rooms/${room}/join`, { body: {} });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

export async function leave(room, token) {
  const r = await api('POST', `/api/v1/rooms/${room}/leave`, { token });
  assert.equal(r.status, 204, JSON.stringify(r.body));
}

// Polls a ticket until it is admitted (claiming it); returns the admitted answer.
export async function claim(room, ticket, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await api('GET', `/api/v1/rooms/${room}/status`, { headers: { 'X-VWR-Ticket': ticket } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (r.body.status === 'admitted') return r.body;
    assert.equal(r.body.status, 'waiting', JSON.stringify(r.body));
    if (Date.now() > deadline) throw new Error(`ticket not admitted within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Runs the test body with a deadline; exits non-zero on any failure.
export async function run(name, body, timeoutMs = 45000) {
  const started = Date.now();
  const timer = setTimeout(() => {
    console.error(`${name}: timed out after ${timeoutMs} ms`);
    process.exit(1);
  }, timeoutMs);
  try {
    await body();
    console.log(`${name}: passed in ${Date.now() - started} ms`);
    clearTimeout(timer);
    process.exit(0);
  } catch (e) {
    console.error(`${name}: FAILED\n${e?.stack ?? e}`);
    clearTimeout(timer);
    process.exit(1);
  }
}
