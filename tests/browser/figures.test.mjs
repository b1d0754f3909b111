// The programme's figures (事業実績, R-O4) in a real browser: the ward's coordinator opens the
// figures from the navigation, reads the year's charts (server-drawn SVG, titled and described)
// and table with small cells shown as "<3", downloads the CSV and switches to English — every
// page checked by axe-core and for CSP violations. A caseworker elsewhere has no link and a 403.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hub } from './harness.mjs';

let h;
before(async () => { h = await hub(); });
after(async () => { await h?.stop(); });

/** Four consultations at the regional support centre and one refused disclosure. */
async function setUp() {
  const rsc = await h.api('sato', 'regional-support-centre', 'caseworker');
  const jobota = await h.api('tanaka', 'jobota', 'caseworker');
  const subjects = [];
  for (const n of [1, 2, 3, 4]) {
    const r = await rsc.post('/v1/subjects', { local_id: `RSC-010${n}` });
    assert.equal(r.status, 201);
    subjects.push(r.body.id);
  }
  let r = await rsc.post(`/v1/subjects/${subjects[0]}/records`, {
    purpose: 'long-term care support',
    sections: [{ category: 'identity', content: '山田 太郎, 大田区蒲田' }],
  });
  assert.equal(r.status, 201);
  r = await rsc.post(`/v1/subjects/${subjects[0]}/consents`, {
    recipients: ['jobota'], purposes: ['employment support'], categories: ['identity'],
    valid_from: '2026-01-01T00:00:00Z', valid_until: '2099-01-01T00:00:00Z', method: 'written', evidence_ref: 'form 2026-201',
  });
  assert.equal(r.status, 201);
  r = await jobota.post('/v1/disclosures', {
    subject_id: subjects[0], owner_agency: 'regional-support-centre', purpose: 'marketing',
    basis: { type: 'consent', consent_id: r.body.id },
  });
  assert.equal(r.status, 403);
}

test('the coordinator reads the year in charts and a table, downloads the CSV, and others cannot', async () => {
  await setUp();
  const { page } = await h.open('welfare-coordination');
  await h.login(page, 'cw-ito', 'caseworker');

  await page.getByRole('navigation').getByRole('link', { name: '事業実績' }).click();
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: '事業実績' }).waitFor());
  await assert.doesNotReject(page.getByRole('img', { name: '相談受付（登録した人）（月別）' }).waitFor());
  const consultations = page.getByRole('row', { name: /^相談受付（登録した人）/ });
  await assert.doesNotReject(consultations.getByRole('cell', { name: '4', exact: true }).first().waitFor());
  const refused = page.getByRole('row', { name: /^情報提供の拒否（本人同意）/ });
  await assert.doesNotReject(refused.getByRole('cell', { name: '<3', exact: true }).first().waitFor());
  assert.equal(await page.locator('script').count(), 0);
  await h.checkPage(page);
  await h.shot(page, 'fig-page');

  // The CSV: the same cells, "<3" and all.
  // (Fetched over the page's own context — its session cookie and certificate — rather than
  // through Chromium's download manager.)
  const link = page.getByRole('link', { name: 'CSV でダウンロード' });
  assert.match(await link.getAttribute('download'), /^figures-\d{4}\.csv$/);
  const got = await page.context().request.get(h.url(await link.getAttribute('href')));
  assert.equal(got.status(), 200);
  assert.match(got.headers()['content-type'], /^text\/csv/);
  const csv = await got.text();
  assert.match(csv, /^measure,breakdown,\d{4}-04,/);
  assert.match(csv, /\r\ndisclosures_refused,consent,[^\r]*<3/);

  // Another year, then English.
  await page.getByLabel('年度').selectOption({ index: 1 });
  await page.getByRole('button', { name: '表示' }).click();
  assert.match(page.url(), /fiscal_year=\d{4}/);
  await h.checkPage(page);
  await page.getByRole('button', { name: 'English' }).click();
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: "The programme's figures" }).waitFor());
  await assert.doesNotReject(page.getByRole('columnheader', { name: 'Apr' }).waitFor());
  await h.checkPage(page);

  // A caseworker at JOBOTA: no link, and the page is refused.
  const other = await h.open('jobota');
  await h.login(other.page, 'cw-tanaka', 'caseworker');
  assert.equal(await other.page.getByRole('link', { name: '事業実績' }).count(), 0);
  const res = await other.page.goto(h.url('/console/figures'));
  assert.equal(res.status(), 403);
  await h.checkPage(other.page);
});
