// The privacy officer (個人情報保護担当) in a real browser: searches the log, opens an entry and
// sees its inclusion proof verified against a signed checkpoint, opens the person's report,
// reviews an emergency grant and reads the dashboard — every page checked by axe-core and for
// CSP violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hub } from './harness.mjs';

let h;
before(async () => { h = await hub(); });
after(async () => { await h?.stop(); });

/** A person at the regional support centre, one disclosure to JOBOTA, one refusal, one emergency grant. */
async function setUp() {
  const rsc = await h.api('sato', 'regional-support-centre', 'caseworker');
  const jobota = await h.api('tanaka', 'jobota', 'caseworker');
  let r = await rsc.post('/v1/subjects', { local_id: 'RSC-0042' });
  assert.equal(r.status, 201);
  const subject = r.body.id;
  r = await rsc.post(`/v1/subjects/${subject}/records`, {
    purpose: 'long-term care support',
    sections: [
      { category: 'identity', content: '山田 太郎, 大田区蒲田' },
      { category: 'employment', content: 'unemployed since 2019' },
      { category: 'health', content: 'diabetes' },
    ],
  });
  assert.equal(r.status, 201);
  r = await rsc.post(`/v1/subjects/${subject}/consents`, {
    recipients: ['jobota'], purposes: ['employment support'], categories: ['identity', 'employment'],
    valid_from: '2026-01-01T00:00:00Z', valid_until: '2099-01-01T00:00:00Z', method: 'written', evidence_ref: 'form 2026-117',
  });
  assert.equal(r.status, 201);
  const consent = r.body.id;
  const ask = (purpose) => jobota.post('/v1/disclosures', {
    subject_id: subject, owner_agency: 'regional-support-centre', purpose,
    basis: { type: 'consent', consent_id: consent },
  });
  r = await ask('employment support');
  assert.equal(r.status, 200);
  const allowed = r.body.audit_receipt.index;
  r = await ask('debt counselling');
  assert.equal(r.status, 403);
  r = await jobota.post('/v1/emergency-grants', {
    subject_id: subject, owner_agency: 'regional-support-centre',
    risk: 'no answer for three days, neighbours report a fall', why_consent_impracticable: 'unreachable',
  });
  assert.equal(r.status, 201);
  return { subject, allowed, grant: r.body.id };
}

test('a privacy officer searches, checks a proof, opens a report, reviews a grant and reads the dashboard', async () => {
  const { subject, allowed, grant } = await setUp();
  const { page } = await h.open('welfare-coordination');
  await h.login(page, 'po-kobayashi', 'privacy-officer');

  // Search: from the home page, by agency and outcome, the filters kept in the URL.
  await page.getByRole('link', { name: '記録の検索' }).first().click();
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: '記録の検索' }).waitFor());
  await h.checkPage(page);
  await page.getByLabel('機関（求めた側または記録を持つ側）').selectOption('jobota');
  await page.getByRole('button', { name: '検索する' }).click();
  assert.match(page.url(), /agency=jobota/);
  await assert.doesNotReject(page.getByRole('cell', { name: subject }).first().waitFor());
  await assert.doesNotReject(page.getByText('同意の利用目的に、この目的が含まれていません。').first().waitFor());
  await h.checkPage(page);
  await h.shot(page, 'off-search');

  // The entry: its inclusion proof, verified against a signed checkpoint.
  await page.getByRole('link', { name: `記録 ${allowed} を開く` }).click();
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: `記録 ${allowed}` }).waitFor());
  await assert.doesNotReject(page.getByText('検証済み', { exact: true }).waitFor());
  await assert.doesNotReject(page.getByText(/署名付きチェックポイント（記録件数 \d+、署名者 tsunagi\.local）/).waitFor());
  await h.checkPage(page);
  await h.shot(page, 'off-entry');

  // The person's report (print and CSV).
  await page.getByRole('link', { name: subject }).first().click();
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: /開示用報告書/ }).waitFor());
  await assert.doesNotReject(page.getByText('提供 1件・拒否 1件').waitFor());
  await assert.doesNotReject(page.getByRole('link', { name: /CSVでダウンロード/ }).waitFor());
  await h.checkPage(page);
  await h.shot(page, 'off-report');
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('nav.nav').isVisible(), false, 'the navigation is not printed');
  await page.emulateMedia({ media: 'screen' });

  // The emergency grant, from the alerts.
  await page.getByRole('link', { name: 'アラート' }).click();
  await assert.doesNotReject(page.getByRole('cell', { name: '緊急提供の許可' }).first().waitFor());
  await h.checkPage(page);
  await page.getByRole('link', { name: '事後確認へ' }).first().click();
  await assert.doesNotReject(page.getByText('neighbours report a fall').waitFor());
  await h.checkPage(page);
  await h.shot(page, 'off-grants');
  const card = page.locator('section.off-grant', { hasText: grant });
  await card.getByLabel('正当だった').check();
  await card.getByLabel('確認の内容').fill('救急搬送を消防に確認した。');
  await card.getByRole('button', { name: '事後確認を記録する' }).click();
  await assert.doesNotReject(page.getByText('事後確認を記録しました（正当だった）。').waitFor());
  await h.checkPage(page);

  // The dashboard: a server-drawn chart with its tables, no script.
  await page.getByRole('link', { name: '提供状況の集計' }).click();
  await assert.doesNotReject(page.getByRole('img', { name: '日ごとの提供と拒否の件数' }).waitFor());
  await assert.doesNotReject(page.getByText('提供 1件・拒否 1件').waitFor());
  assert.equal(await page.locator('script').count(), 0);
  await h.checkPage(page);
  await h.shot(page, 'off-dashboard');

  // The log's health.
  await page.getByRole('link', { name: '記録の健全性' }).click();
  await assert.doesNotReject(page.getByText('記録と署名付きチェックポイントは一致しています。').waitFor());
  await h.checkPage(page);

  // Bad input is said by the form; an unknown pseudonym is said on the lookup page.
  let res = await page.goto(h.url('/console/log?until=someday'));
  assert.equal(res.status(), 422);
  await assert.doesNotReject(page.getByRole('alert').getByText('invalid_time', { exact: false }).waitFor());
  await h.checkPage(page);
  await page.getByLabel('仮名', { exact: true }).fill('no-such-pseudonym');
  await page.getByRole('button', { name: '本人を確認する' }).click();
  await assert.doesNotReject(page.getByText('その仮名の方は、担当範囲の記録には出てきません。').waitFor());
  await h.checkPage(page);
});

test('a caseworker who opens the log search gets the refusal page', async () => {
  const { page } = await h.open('jobota');
  await h.login(page, 'cw-sato', 'caseworker');
  const res = await page.goto(h.url('/console/log'));
  assert.equal(res.status(), 403);
  await assert.doesNotReject(page.getByText('この操作は許可されていません').waitFor());
  await h.checkPage(page);
});
