// The console's foundation in a real browser: the login page on an agency's terminal, the
// development login, the home page of each role, the language switch, logout — each page
// checked by axe-core and for CSP violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hub } from './harness.mjs';

let h;
before(async () => { h = await hub(); });
after(async () => { await h?.stop(); });

test('a caseworker logs in on the terminal of their agency, in Japanese, and logs out', async () => {
  const { page } = await h.open('regional-support-centre');
  await page.goto(h.url('/console/'));
  assert.match(page.url(), /\/console\/login\?reason=login_required$/);
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  await assert.doesNotReject(page.getByText('regional-support-centre').first().waitFor());
  await h.checkPage(page);
  await h.shot(page, 'login');

  await h.login(page, 'cw-tanaka', 'caseworker');
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: 'ホーム' }).waitFor());
  await assert.doesNotReject(page.getByText('開発用ログイン').first().waitFor());
  await h.checkPage(page);

  await page.getByRole('button', { name: 'English' }).click();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: 'Home' }).waitFor());
  await h.checkPage(page);
  await page.getByRole('button', { name: '日本語' }).click();

  await page.getByRole('button', { name: 'ログアウト' }).click();
  assert.match(page.url(), /reason=logged_out$/);
  await assert.doesNotReject(page.getByText('ログアウトしました').waitFor());
});

test('a refused page says why in Japanese and is a page, not an error dump', async () => {
  const { page } = await h.open('jobota');
  await h.login(page, 'cw-sato', 'caseworker');
  const res = await page.goto(h.url('/console/admin/sessions'));
  assert.equal(res.status(), 403);
  await assert.doesNotReject(page.getByText('この操作は許可されていません').waitFor());
  await h.checkPage(page);
});

test('a supervisor sees the open sessions of their agency', async () => {
  const { page } = await h.open('jobota');
  await h.login(page, 'sv-mori', 'supervisor');
  await page.getByRole('link', { name: 'ログイン中のセッション' }).first().click();
  await assert.doesNotReject(page.getByRole('cell', { name: 'sv-mori', exact: true }).waitFor());
  await h.checkPage(page);
  await h.shot(page, 'supervisor-sessions');
});
