// The browser tests' harness: starts the real hub binary on a free port (SQLite in a temporary
// directory, or a fresh PostgreSQL database when BROWSER_ENGINE=postgres), opens
// Debian's Chromium through Playwright with an agency's development client certificate, logs in
// with the development login, and checks every page with axe-core (no serious or critical
// violation) and for Content-Security-Policy violations.
//
// Environment (set by tests/api/browser.rs, which `cargo test` runs):
//   HUB_BIN             the hub binary (cargo's CARGO_BIN_EXE_tsunagi)
//   BROWSER_ENGINE  sqlite (default) or postgres
//   TSUNAGI_TEST_POSTGRES_URL  admin URL of the PostgreSQL server (postgres engine)
//   CHROMIUM                the browser (default /usr/bin/chromium)
//   NODE_EXTRA_CA_CERTS     certs-dev/ca.pem (Playwright's client-certificate proxy checks the hub)
//   SCREENSHOTS_DIR     a directory: shot() writes PNGs there (default target/screenshots;
//                       `SCREENSHOTS_DIR=$PWD/docs/screenshots` refreshes the README's)

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dev = (p) => path.join(repo, 'certs-dev', p);

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function postgresDatabase() {
  const admin = process.env.TSUNAGI_TEST_POSTGRES_URL;
  assert.ok(admin, 'TSUNAGI_TEST_POSTGRES_URL names the PostgreSQL server');
  const name = `tsunagi_browser_${process.pid}_${Date.now()}`;
  execFileSync('psql', [admin, '-qc', `CREATE DATABASE "${name}"`]);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => execFileSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`]) };
}

/**
 * Starts a hub and a browser. Call `stop()` when done. `env(port)` may give more environment
 * variables for the hub (configuration), knowing the port it will listen on.
 * @returns {Promise<Hub>}
 */
export async function hub({ env: more } = {}) {
  const bin = process.env.HUB_BIN || path.join(repo, 'target', 'debug', 'tsunagi');
  const engine = process.env.BROWSER_ENGINE || 'sqlite';
  const dir = mkdtempSync(path.join(tmpdir(), 'tsunagi-browser-'));
  const db = engine === 'postgres' ? postgresDatabase() : { url: `sqlite://${dir}/tsunagi.db`, drop: () => {} };
  const port = await freePort();
  const env = {
    ...process.env,
    TSUNAGI_LISTEN: `127.0.0.1:${port}`,
    TSUNAGI_DATABASE_URL: db.url,
    TSUNAGI_LOG_LEVEL: 'warn',
    TSUNAGI_WORKERS: '2',
    ...(more ? more(port) : {}),
  };
  const child = spawn(bin, ['serve'], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (d) => { output += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the hub did not start:\n${output}`)), 60_000);
    child.stdout.on('data', (d) => {
      output += d;
      if (output.includes('Console: https://')) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the hub exited (${code}):\n${output}`)); });
  });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  return new Hub({ port, engine, child, browser, dir, db, bin });
}

export class Hub {
  constructor({ port, engine, child, browser, dir, db, bin }) {
    Object.assign(this, { port, engine, child, browser, dir, db, bin });
    this.base = `https://localhost:${port}`;
    this.contexts = [];
  }

  url(p) { return `${this.base}${p}`; }

  /**
   * A browser context on `agency`'s terminal (its development client certificate), Japanese
   * locale, and a page in it that records CSP violations and page errors.
   */
  async open(agency, { locale = 'ja-JP' } = {}) {
    const ctx = await this.browser.newContext({
      locale,
      ignoreHTTPSErrors: false,
      clientCertificates: [{
        origin: this.base,
        certPath: dev(`clients/${agency}.pem`),
        keyPath: dev(`clients/${agency}.key`),
      }],
      viewport: { width: 1280, height: 900 },
    });
    // A loaded CI machine runs the Rust suite beside the browser: allow a step a minute (the
    // default 30 s timed out once with everything running at once), never an unbounded wait.
    ctx.setDefaultTimeout(60_000);
    this.contexts.push(ctx);
    const page = await ctx.newPage();
    page.problems = [];
    page.on('console', (m) => {
      const text = m.text();
      if (/Content Security Policy|Refused to/i.test(text)) page.problems.push(`CSP: ${text}`);
    });
    page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
    return { ctx, page };
  }

  /** Development login as `user` with `role` (the agency is the certificate's). */
  async login(page, user, role) {
    await page.goto(this.url('/console/login'));
    await page.getByLabel(/利用者ID|User id/).fill(user);
    await page.getByLabel(/役割|Role/).selectOption(role);
    await page.getByRole('button', { name: /ログインする|Log in/ }).click();
    await page.waitForURL(this.url('/console/'));
  }

  /** A development token for the JSON API (test set-up), from the hub's own `token` command. */
  token(user, agency, role) {
    return execFileSync(this.bin, ['token', '--user', user, '--agency', agency, '--role', role], { cwd: repo })
      .toString().trim();
  }

  /**
   * The JSON API as `user` at `agency` with `role`, over the agency's certificate (Playwright's
   * request context, so no other HTTP client is needed).
   */
  async api(user, agency, role) {
    const { ctx } = await this.open(agency);
    const token = this.token(user, agency, role);
    const headers = { authorization: `Bearer ${token}` };
    const call = async (method, p, body) => {
      const r = await ctx.request.fetch(this.url(p), { method, headers, data: body });
      let json = null;
      try { json = await r.json(); } catch { json = null; }
      return { status: r.status(), body: json };
    };
    return { post: (p, body) => call('POST', p, body), get: (p) => call('GET', p), put: (p, body) => call('PUT', p, body) };
  }

  /**
   * Checks the page as it is now: axe-core finds no serious or critical WCAG 2.1 A/AA
   * violation, and nothing violated the CSP or threw since the page was opened.
   */
  async checkPage(page) {
    const result = await new AxeBuilder({ page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
      .analyze();
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(
      bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      [],
      `accessibility on ${page.url()}`,
    );
    assert.deepEqual(page.problems, [], `CSP violations or page errors on ${page.url()}`);
  }

  /** A full-page screenshot for the README (SQLite run only). */
  async shot(page, name) {
    if (this.engine !== 'sqlite') return;
    const dir = process.env.SCREENSHOTS_DIR || path.join(repo, 'target', 'screenshots');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
  }

  async stop() {
    for (const c of this.contexts) await c.close().catch(() => {});
    await this.browser.close().catch(() => {});
    this.child.kill('SIGTERM');
    await new Promise((r) => { if (this.child.exitCode !== null) r(); else this.child.once('exit', r); });
    try { this.db.drop(); } catch { /* already gone */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
