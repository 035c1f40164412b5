#!/usr/bin/env node
// Runs one script in a page of a real, headless chromium (Debian's
// /usr/bin/chromium) through puppeteer-core, for the tests that need a
// browser's own rules (CORS, preflights, what a page may read).
//
// Input: one JSON object, as the first argument or on stdin:
//   {"page": "http://127.0.0.1:PORT/", "script": "<body of an async function>",
//    "timeout": 30000}
// The page is loaded, then the script runs in it as the body of an async
// function; what it returns (JSON-able) is the result. Output on stdout, one
// JSON object:
//   {"ok": true,  "result": ..., "console": [...], "corsErrors": [...],
//    "requestFailures": [...], "pageErrors": [...], "timings": {...}}
//   {"ok": false, "error": {"name", "message", "stage"}, ...the same lists}
// `ok` is false when the page cannot be loaded, when the script throws
// (stage "script") or on the hard timeout (stage "timeout"). corsErrors come
// from the DevTools protocol (Network.loadingFailed's corsErrorStatus), one
// {url, method, type, corsError, failedParameter, errorText} per blocked
// request; console has the page's messages and the browser's own (the "has
// been blocked by CORS policy" lines).
//
// Exit codes: 0 ok (the script returned, whatever it returned), 1 not ok, 2 bad
// input, 77 puppeteer-core or chromium missing (`--probe` checks only that).
// The browser is always closed and every process of it killed (it runs in
// its own process group, with a user-data-dir of its own that every one of
// its processes names on its command line: both are swept before exiting).
//
// puppeteer-core is looked up in $LAMBDAD_NODE_MODULES, each entry of
// $NODE_PATH, then <repo>/.cache/npm/node_modules. $CHROMIUM overrides
// /usr/bin/chromium. $LAMBDAD_BROWSER_USER_DATA_DIR, if set, is the (empty,
// existing) profile directory to use; browser.py passes one so that it can
// sweep it too if this program is killed.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const SKIP = 77;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const t0 = Date.now();

function findNodeModules() {
  const candidates = [];
  if (process.env.LAMBDAD_NODE_MODULES) candidates.push(process.env.LAMBDAD_NODE_MODULES);
  for (const p of (process.env.NODE_PATH || '').split(':')) if (p) candidates.push(p);
  candidates.push(join(REPO, '.cache', 'npm', 'node_modules'));
  for (const dir of candidates) {
    if (existsSync(join(dir, 'puppeteer-core', 'package.json'))) return dir;
  }
  return null;
}

const modules = findNodeModules();
if (!modules) {
  console.log('SKIP: puppeteer-core not found (looked in $LAMBDAD_NODE_MODULES, $NODE_PATH and ' +
              `${join(REPO, '.cache', 'npm', 'node_modules')}); tools/dev.sh test installs it`);
  process.exit(SKIP);
}
if (!existsSync(CHROMIUM)) {
  console.log(`SKIP: ${CHROMIUM} not found (apt-get install chromium, or set CHROMIUM)`);
  process.exit(SKIP);
}
const puppeteerVersion = JSON.parse(readFileSync(join(modules, 'puppeteer-core', 'package.json'))).version;
if (process.argv.includes('--probe')) {
  console.log(`puppeteer-core ${puppeteerVersion} in ${modules}, ${CHROMIUM}`);
  process.exit(0);
}
const puppeteer = createRequire(join(modules, 'noop.js'))('puppeteer-core');

// ---------------------------------------------------------------- input
function readInput() {
  const arg = process.argv.slice(2).find(a => !a.startsWith('--'));
  const text = arg !== undefined && arg !== '-' ? arg : readFileSync(0, 'utf8');
  const input = JSON.parse(text);
  if (typeof input.page !== 'string' || typeof input.script !== 'string') {
    throw new Error('want {"page": "<url>", "script": "<async function body>"}');
  }
  return input;
}

let input;
try {
  input = readInput();
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: { name: 'BadInput', message: String(e.message || e), stage: 'input' } }));
  process.exit(2);
}
const timeout = Number(input.timeout) > 0 ? Number(input.timeout) : 30000;

// ---------------------------------------------------------------- the browser's processes
const ownProfile = !process.env.LAMBDAD_BROWSER_USER_DATA_DIR;
const userDataDir = process.env.LAMBDAD_BROWSER_USER_DATA_DIR || mkdtempSync(join(tmpdir(), 'lambdad-browser-'));
let browser = null;
let browserPid = null;

// Every process whose command line names our profile directory: the browser,
// its zygotes, renderers, GPU and utility processes, crashpad.
function profileProcesses() {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cmdline;
    try { cmdline = readFileSync(`/proc/${name}/cmdline`, 'latin1'); } catch { continue; }
    if (cmdline.includes(userDataDir)) pids.push(Number(name));
  }
  return pids;
}

function killAll() {
  if (browserPid) {
    try { process.kill(-browserPid, 'SIGKILL'); } catch { /* group gone */ }
  }
  for (let round = 0; round < 50; round++) {
    const pids = profileProcesses();
    if (pids.length === 0) break;
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  if (ownProfile) {
    try { rmSync(userDataDir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
}

const out = { ok: false, console: [], corsErrors: [], requestFailures: [], pageErrors: [], timings: {} };
let printed = false;
function finish(code) {
  if (!printed) {
    printed = true;
    out.timings.totalMs = Date.now() - t0;
    process.stdout.write(JSON.stringify(out) + '\n');
  }
  killAll();
  process.exit(code);
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => {
    out.error = { name: 'Killed', message: `got ${sig}`, stage: 'signal' };
    finish(1);
  });
}
const hardTimer = setTimeout(() => {
  out.error = { name: 'TimeoutError', message: `no result within ${timeout} ms`, stage: 'timeout' };
  finish(1);
}, timeout);

async function close() {
  if (!browser) return;
  const b = browser;
  browser = null;
  await Promise.race([b.close().catch(() => {}), new Promise(r => setTimeout(r, 3000))]);
}

// ---------------------------------------------------------------- the run
let stage = 'launch';
try {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,                 // the new headless mode (--headless=new)
    pipe: true,                     // DevTools over fds 3/4: the browser ends with us
    userDataDir,
    // Crashpad's handlers leave the browser's process group and take their
    // database from $XDG_CONFIG_HOME: pointed into the profile, they name it
    // (and the sweep finds them) and nothing is written under $HOME.
    env: { ...process.env, HOME: userDataDir, XDG_CONFIG_HOME: join(userDataDir, '.config'),
           XDG_CACHE_HOME: join(userDataDir, '.cache') },
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-crash-reporter',
           '--disable-breakpad'],
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    timeout,
    protocolTimeout: timeout,
  });
  browserPid = browser.process()?.pid ?? null;
  out.browserVersion = await browser.version();
  out.puppeteerVersion = puppeteerVersion;
  out.timings.launchMs = Date.now() - t0;

  stage = 'page';
  const page = await browser.newPage();
  page.on('console', m => out.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', e => out.pageErrors.push(String(e && e.message || e)));
  page.on('requestfailed', r => out.requestFailures.push({
    url: r.url(), method: r.method(), errorText: r.failure()?.errorText ?? null,
  }));
  const cdp = await page.createCDPSession();
  const requests = new Map();   // requestId -> {url, method, type}
  cdp.on('Network.requestWillBeSent', e => requests.set(e.requestId, { url: e.request.url, method: e.request.method, type: e.type }));
  cdp.on('Network.loadingFailed', e => {
    if (!e.corsErrorStatus) return;
    const r = requests.get(e.requestId) || {};
    out.corsErrors.push({
      url: r.url ?? null, method: r.method ?? null, type: e.type ?? r.type ?? null,
      corsError: e.corsErrorStatus.corsError, failedParameter: e.corsErrorStatus.failedParameter || '',
      errorText: e.errorText,
    });
  });
  await cdp.send('Network.enable');

  const loadStart = Date.now();
  const response = await page.goto(input.page, { waitUntil: 'load', timeout });
  out.pageStatus = response ? response.status() : null;
  out.timings.loadMs = Date.now() - loadStart;

  stage = 'script';
  const scriptStart = Date.now();
  // The body runs as an async function; an exception comes back as data so
  // that its name (TypeError for a CORS refusal) survives the trip.
  const wrapped = `(async () => {
    try {
      const value = await (async () => {\n${input.script}\n})();
      return { threw: false, value: value === undefined ? null : value };
    } catch (e) {
      return { threw: true, name: e && e.name || 'Error', message: String(e && e.message || e) };
    }
  })()`;
  const r = await page.evaluate(wrapped);
  out.timings.scriptMs = Date.now() - scriptStart;
  // Let late events (loadingFailed after fetch() rejected) arrive.
  await new Promise(res => setTimeout(res, 50));
  if (r.threw) {
    out.error = { name: r.name, message: r.message, stage };
  } else {
    out.ok = true;
    out.result = r.value;
  }
  stage = 'close';
  const closeStart = Date.now();
  await close();
  out.timings.closeMs = Date.now() - closeStart;
  clearTimeout(hardTimer);
  finish(out.ok ? 0 : 1);
} catch (e) {
  out.error = { name: e && e.name || 'Error', message: String(e && e.message || e), stage };
  await close().catch(() => {});
  clearTimeout(hardTimer);
  finish(1);
}
