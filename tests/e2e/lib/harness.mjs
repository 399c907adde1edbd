// Shared set-up for the browser tests: a throwaway tally server on loopback with its own
// SQLite database, users made with the real CLI, projects and items made through the JSON
// API, and a headless Debian Chromium driven by playwright-core.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(E2E_DIR, '..', '..');
export const SCREENSHOT_DIR = path.join(E2E_DIR, 'screenshots');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function tallyBin() {
  const bin = process.env.TALLY_BIN || 'target/debug/tally';
  return path.isAbsolute(bin) ? bin : path.resolve(REPO_ROOT, bin);
}

// Processes this file started, so they can be ended by pid whatever happens, and the
// temporary folders it made.
const started = new Set();
const tempDirs = new Set();
function killStarted() {
  for (const child of started) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  started.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.on('exit', killStarted);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killStarted();
    process.exit(130);
  });
}

/** Ends a server this file started (by its pid: TERM, then KILL after 5 s) and removes its folder. */
async function stopServer(child, dir) {
    if (started.has(child)) {
      started.delete(child);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
}

/** Runs the tally CLI against a database; returns `{ status, stdout, stderr }` as they came. */
function cliResult(args, databaseUrl, input) {
  const result = spawnSync(tallyBin(), [...args, '--database-url', databaseUrl], {
    input: input ?? '',
    encoding: 'utf8',
    timeout: 30_000,
  });
  // A command that refuses its arguments exits before reading its input: writing the input
  // then fails with EPIPE, but the command ran and said why.
  const refusedBeforeReading = result.error?.code === 'EPIPE' && result.status !== null;
  if (result.error && !refusedBeforeReading) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the tally CLI against a database; returns trimmed stdout or throws with stderr. */
function cli(args, databaseUrl, input) {
  const result = cliResult(args, databaseUrl, input);
  if (result.status !== 0) {
    throw new Error(`tally ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
  }
  return result.stdout.trim();
}

/**
 * Starts `tally serve` on 127.0.0.1:0 with a fresh database, an admin (with an API token)
 * and a rater. Call `stop()` when done.
 */
export async function startTally({ env = {} } = {}) {
  const bin = tallyBin();
  if (!existsSync(bin)) throw new Error(`no tally binary at ${bin} (set TALLY_BIN)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-e2e-'));
  tempDirs.add(dir);
  const databaseUrl = `sqlite://${dir}/e2e.db`;

  const admin = { name: 'boss', password: 'admin-password-123' };
  const rater = { name: 'rita', password: 'rater-password-123' };
  cli(['migrate'], databaseUrl);
  cli(['users', 'add', admin.name, '--role', 'admin', '--password-stdin'], databaseUrl, admin.password + '\n');
  cli(['users', 'add', rater.name, '--role', 'rater', '--password-stdin'], databaseUrl, rater.password + '\n');
  const token = cli(['tokens', 'issue', admin.name], databaseUrl);
  if (!/^\S+$/.test(token)) throw new Error(`unexpected token output: ${JSON.stringify(token)}`);

  const child = spawn(bin, ['serve', '--bind', '127.0.0.1:0', '--database-url', databaseUrl], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TALLY_LOG: process.env.TALLY_LOG || 'warn', ...env },
  });
  started.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });

  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tally serve did not start in 20 s; stderr:\n${stderr}`)), 20_000);
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/.exec(line);
      if (m) resolve(m[1]);
      else reject(new Error(`unexpected first line from tally serve: ${JSON.stringify(line)}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tally serve exited ${code} before listening; stderr:\n${stderr}`));
    });
  });

  /**
   * One HTTP call, whatever its status: `{ status, text }`. Sent with the admin's API token
   * unless `bearer` names another (a rater's token, a feedback key).
   */
  async function request(method, urlPath, body, { contentType = 'application/json', bearer = token } = {}) {
    const headers = { Authorization: `Bearer ${bearer}` };
    let payload;
    if (body !== undefined) {
      headers['Content-Type'] = contentType;
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(baseUrl + urlPath, { method, headers, body: payload });
    return { status: res.status, text: await res.text() };
  }

  /** A JSON API call that must succeed; returns the parsed answer (or the text with `raw`). */
  async function api(method, urlPath, body, { contentType = 'application/json', raw = false, bearer = token } = {}) {
    const res = await request(method, urlPath, body, { contentType, bearer });
    if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${urlPath} -> ${res.status}: ${res.text}`);
    if (raw) return res.text;
    return res.text ? JSON.parse(res.text) : null;
  }

  let projectCount = 0;
  /** Creates a single-choice project and imports `texts` (strings or {text, ...} objects) in order. */
  async function createProject({ name, labels, overlap = 1, instructions = '', items }) {
    projectCount += 1;
    const project = await api('POST', '/api/v1/projects', {
      name: name ?? `Project ${projectCount}`,
      kind: 'single_choice',
      labels,
      overlap,
      instructions,
    });
    const rows = items.map((item, i) => ({
      external_id: `e${i + 1}`,
      data: typeof item === 'string' ? { text: item } : item,
    }));
    const imported = await api('POST', `/api/v1/projects/${project.id}/items`, rows);
    if (imported.imported !== rows.length) throw new Error(`imported ${JSON.stringify(imported)}`);
    return project;
  }

  /** The JSONL export as objects, keyed by external_id. */
  async function exportRows(pid) {
    const text = await api('GET', `/api/v1/projects/${pid}/export?format=jsonl`, undefined, { raw: true });
    const rows = text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    return Object.fromEntries(rows.map((r) => [r.external_id, r]));
  }

  const stop = () => stopServer(child, dir);

  return {
    baseUrl,
    admin,
    rater,
    token,
    api,
    request,
    createProject,
    exportRows,
    stop,
    serverLog: () => stderr,
    /** Runs the tally CLI on this server's database: `{ status, stdout, stderr }`. */
    cli: (args, input) => cliResult(args, databaseUrl, input),
  };
}

/** A free TCP port on loopback (the demo prints its links with the port it binds). */
async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `tally demo --fresh` in a throwaway folder, as the README's first command does, and
 * returns its address, the box it printed and the logins from its notes file.
 */
export async function startDemo() {
  const bin = tallyBin();
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-demo-'));
  tempDirs.add(dir);
  const port = await freePort();
  const child = spawn(bin, ['demo', '--fresh', '--bind', `127.0.0.1:${port}`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TALLY_LOG: process.env.TALLY_LOG || 'warn' },
  });
  started.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const printed = [];
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tally demo did not start in 60 s; stderr:\n${stderr}`)), 60_000);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      } else {
        printed.push(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tally demo exited ${code} before listening; stderr:\n${stderr}`));
    });
  });
  const logins = Object.fromEntries(
    readFileSync(path.join(dir, 'tally-demo.logins'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('\t'))
      .map((l) => {
        const [name, password] = l.split('\t');
        return [name, { name, password }];
      }),
  );
  const stop = () => stopServer(child, dir);
  return { baseUrl, printed: printed.join('\n'), logins, stop };
}

/** Launches Debian's Chromium headless, with a throwaway profile. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

/**
 * A fresh browser context (own cookies), JS on or off. `bypassCSP` makes the browser ignore
 * the pages' Content-Security-Policy, for tests that must see what the markup alone would do.
 * `hasTouch` and `isMobile` make a phone: taps and touch drags, the page's own viewport.
 * `storageState` (from `context.storageState()`) starts it signed in as someone already.
 */
export async function newContext(
  browser,
  {
    javaScriptEnabled = true,
    viewport = { width: 1280, height: 800 },
    bypassCSP = false,
    hasTouch = false,
    isMobile = false,
    storageState,
  } = {},
) {
  const context = await browser.newContext({ javaScriptEnabled, viewport, bypassCSP, hasTouch, isMobile, storageState });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  return context;
}

/**
 * Runs `fn(page, seen)` on a new page in a fresh context (options as for `newContext`), with
 * what goes wrong on it watched, and closes the context whatever happens.
 */
export async function withPage(browser, options, fn) {
  const context = await newContext(browser, options);
  try {
    const page = await context.newPage();
    return await fn(page, watch(page));
  } finally {
    await context.close();
  }
}

/**
 * Records what a person would notice going wrong: dialogs, script errors, console errors
 * (such as Content-Security-Policy refusals), loads that failed; and the POSTs sent.
 */
export function watch(page) {
  const seen = { dialogs: [], pageErrors: [], consoleErrors: [], posts: [], failedLoads: [] };
  page.on('dialog', (dialog) => {
    seen.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (err) => seen.pageErrors.push(String(err)));
  page.on('console', (msg) => {
    // A failed load is recorded with its address below, from the response itself.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      seen.consoleErrors.push(msg.text());
    }
  });
  page.on('response', (res) => {
    const url = new URL(res.url());
    // Browsers ask for /favicon.ico on their own; tally has none, which is harmless.
    if (res.status() >= 400 && url.pathname !== '/favicon.ico') {
      seen.failedLoads.push(`${res.status()} ${url.pathname}`);
    }
  });
  page.on('request', (req) => {
    if (req.method() === 'POST') seen.posts.push(new URL(req.url()).pathname);
  });
  return seen;
}

/** Signs in through the login form, as a person would. */
export async function login(page, baseUrl, { name, password }) {
  await page.goto(baseUrl + '/login');
  await page.fill('input[name="name"]', name);
  await page.fill('input[name="password"]', password);
  await Promise.all([
    page.waitForURL((url) => url.pathname !== '/login'),
    page.click('form[action="/login"] button[type="submit"]'),
  ]);
}

/** Polls `fn` (async) until it returns a truthy value; works with page JavaScript off too. */
export async function until(fn, { timeout = 10_000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

export const text = async (page, selector) => ((await page.locator(selector).textContent()) ?? '').trim();

/** Waits until `#item-text` shows something other than `previous` and returns it (or null on the done page). */
export async function nextItemText(page, previous) {
  return until(
    async () => {
      if (await page.locator('#done').count()) return { done: true };
      // A short wait only: the page may be replaced between two looks.
      const t = await page.locator('#item-text').textContent({ timeout: 250 }).catch(() => null);
      return t !== null && t !== previous ? { text: t } : null;
    },
    { what: `an item other than ${JSON.stringify(previous)}, or the done page` },
  ).then(async (r) => {
    // Deferred scripts (keys.js) have run by DOMContentLoaded: the next key press counts.
    await page.waitForLoadState('domcontentloaded');
    return r.done ? null : r.text;
  });
}

export function screenshotPath(name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return path.join(SCREENSHOT_DIR, name);
}

/**
 * Watches a page for hostile text that ran: dialogs, script errors, and every HTML document
 * the page loads (kept in `documents` so their headers and markup can be checked).
 */
export function watchForScript(page) {
  const seen = { dialogs: [], pageErrors: [], documents: [] };
  page.on('dialog', (dialog) => {
    seen.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (err) => seen.pageErrors.push(String(err)));
  page.on('response', (res) => {
    if (res.request().isNavigationRequest() && res.frame() === page.mainFrame()) seen.documents.push(res);
  });
  return seen;
}

/** The scripts tally's own pages load; any other script on a page is a finding. */
const TALLY_SCRIPTS = ['/static/keys.js', '/static/spans.js', '/static/boxes.js', '/static/zoom.js'];

/**
 * What on the current page could run code or load what it should not: event-handler
 * attributes, scripts other than tally's own, javascript:/vbscript:/data: URLs, images,
 * frames, plugins, <base>, <style>, meta tags other than a refresh, and SVG that is
 * not one of the server-drawn charts (or holds more than their shapes). Empty when inert.
 * `imageOrigins` allows the item's own image (`img#item-image`) from those origins only.
 */
export async function activeContent(page, { imageOrigins = [] } = {}) {
  return page.evaluate(({ imageOrigins, scripts }) => {
    const found = [];
    const urlAttributes = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'srcdoc'];
    for (const el of document.querySelectorAll('*')) {
      for (const { name, value } of el.attributes) {
        const attr = name.toLowerCase();
        if (attr.startsWith('on')) found.push(`<${el.localName} ${attr}="${value.slice(0, 60)}">`);
        if (urlAttributes.includes(attr) && /^[\s\u0000-\u001f]*(javascript|vbscript|data):/i.test(value)) {
          found.push(`<${el.localName} ${attr}="${value.slice(0, 60)}">`);
        }
      }
    }
    for (const script of document.querySelectorAll('script')) {
      if (!scripts.includes(script.getAttribute('src'))) {
        found.push(`<script src=${script.getAttribute('src')}>${script.textContent.slice(0, 60)}`);
      }
    }
    const strangers = 'img, image, iframe, frame, object, embed, base, style, meta[http-equiv]:not([http-equiv="refresh"]), link:not([rel="stylesheet"][href="/static/app.css"]), svg:not(.chart), foreignObject, animate, set, use';
    const itemImage = (el) =>
      el.localName === 'img' &&
      el.id === 'item-image' &&
      imageOrigins.some((origin) => el.getAttribute('src').startsWith(origin + '/'));
    for (const el of document.querySelectorAll(strangers)) {
      if (!itemImage(el)) found.push(`<${el.localName}> ${el.outerHTML.slice(0, 80)}`);
    }
    const chartShapes = ['title', 'text', 'rect', 'line', 'circle'];
    for (const el of document.querySelectorAll('svg.chart *')) {
      if (!chartShapes.includes(el.localName)) found.push(`<${el.localName}> in a chart`);
    }
    return found;
  }, { imageOrigins, scripts: TALLY_SCRIPTS });
}

/**
 * Asserts that nothing ran on a page watched with `watchForScript`: no dialog, no script
 * error, `window.__xss` unset, nothing on the page that could run (`activeContent`), and
 * every document loaded since the last look sent the Content-Security-Policy and holds none
 * of `rawMarkers` in its markup. Returns how many documents it read. `imageOrigins` as for
 * `activeContent`.
 */
export async function assertNothingRan(page, seen, where, rawMarkers, { imageOrigins = [] } = {}) {
  assert.deepEqual(seen.dialogs, [], `${where}: no dialog opened`);
  assert.deepEqual(seen.pageErrors, [], `${where}: no script error`);
  const flag = await page.evaluate(() => (window.__xss === undefined ? 'unset' : String(window.__xss)));
  assert.equal(flag, 'unset', `${where}: the payload planted as ${flag} ran`);
  assert.deepEqual(await activeContent(page, { imageOrigins }), [], `${where}: nothing that could run is on the page`);
  const documents = seen.documents.splice(0);
  for (const res of documents) {
    const csp = res.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'self'/, `${where}: ${res.url()} sends the CSP`);
    assert.match(csp, /script-src 'self'/, `${where}: ${res.url()} limits scripts`);
    if (res.status() >= 300 && res.status() < 400) continue;
    const html = await res.text();
    for (const marker of rawMarkers) {
      assert.ok(!html.includes(marker), `${where}: ${res.url()} holds ${JSON.stringify(marker)} unescaped`);
    }
  }
  return documents.length;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * The page's WCAG 2.1 A and AA violations found by axe-core, as "rule: target (why)" lines.
 * axe is evaluated through the driver, which the page's CSP does not govern.
 */
export async function accessibilityViolations(page) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return result.violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id}: ${n.target.join(' ')} (${n.failureSummary?.split('\n')[1]?.trim() ?? ''})`),
  );
}
