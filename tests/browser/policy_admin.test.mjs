// The policy admin's console in a real browser, with a second admin's approval required:
// admin A proposes a change, simulates it against recorded decisions (grouped flips with links
// to the log entries), explains one decision; admin B approves; A applies; the history shows
// the new version; diff; rollback. Every page is checked by axe-core and for CSP violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { hub, repo } from './harness.mjs';

const EMPLOYMENT = 'p, caseworker, *, disclose:consent, employment, allow';

let h;
before(async () => {
  // This file runs in its own process: the hub it starts requires a second admin's approval.
  process.env.TSUNAGI_POLICY_ADMIN__REQUIRE_APPROVAL = 'true';
  h = await hub();
});
after(async () => { await h?.stop(); });

/** The top of a long page (the matrix runs to several screens): the legend and the first table. */
async function shotTop(page, name, height) {
  if (h.engine !== 'sqlite') return;
  const dir = process.env.SCREENSHOTS_DIR || path.join(repo, 'target', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true, clip: { x: 0, y: 0, width: 1280, height } });
}

/** A recorded disclosure for the simulation to find: JOBOTA received employment data. */
async function recordedDisclosure() {
  const owner = await h.api('sato', 'regional-support-centre', 'caseworker');
  const jobota = await h.api('tanaka', 'jobota', 'caseworker');
  const subject = await owner.post('/v1/subjects', { local_id: 'RSC-0101' });
  assert.equal(subject.status, 201, JSON.stringify(subject.body));
  const id = subject.body.id;
  const rec = await owner.post(`/v1/subjects/${id}/records`, {
    purpose: 'long-term care support',
    sections: [
      { category: 'identity', content: '山田 太郎' },
      { category: 'employment', content: 'looking for part-time work' },
    ],
  });
  assert.equal(rec.status, 201, JSON.stringify(rec.body));
  const until = new Date(Date.now() + 365 * 86400_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const consent = await owner.post(`/v1/subjects/${id}/consents`, {
    recipients: ['jobota'], purposes: ['employment support'], categories: ['identity', 'employment'],
    valid_until: until, method: 'written', evidence_ref: 'consent form 2026-201',
  });
  assert.equal(consent.status, 201, JSON.stringify(consent.body));
  const d = await jobota.post('/v1/disclosures', {
    subject_id: id, owner_agency: 'regional-support-centre', purpose: 'employment support',
    basis: { type: 'consent', consent_id: consent.body.id },
  });
  assert.equal(d.status, 200, JSON.stringify(d.body));
  return d.body.audit_receipt.index;
}

test('admin A proposes, simulates and explains; admin B approves; A applies; history, diff and rollback', async () => {
  const index = await recordedDisclosure();

  // A reads the policy in force as tables.
  const { page: a } = await h.open('welfare-coordination');
  await h.login(a, 'admin-aoki', 'policy-admin');
  await a.getByRole('link', { name: '共有ポリシー' }).first().click();
  await assert.doesNotReject(a.getByRole('heading', { level: 1, name: '現在の共有ポリシー' }).waitFor());
  await assert.doesNotReject(a.getByRole('heading', { level: 2, name: '「本人同意」を根拠とする提供' }).waitFor());
  await h.checkPage(a);
  await shotTop(a, 'pa-matrix', 1500);

  // A proposes: caseworkers no longer receive employment data under consent.
  await a.getByRole('link', { name: '変更を提案する' }).first().click();
  await h.checkPage(a);
  await a.getByLabel('現在の規則から選ぶ').selectOption(EMPLOYMENT);
  await a.getByLabel('理由').fill('就労の区分は同意書の様式を見直すまで止める');
  await a.getByRole('button', { name: '提案する' }).click();
  await assert.doesNotReject(a.getByText('提案しました').waitFor());
  await assert.doesNotReject(a.getByText('承認待ち').waitFor());
  await assert.doesNotReject(a.getByText('ご自身の提案は承認できません').first().waitFor());
  assert.equal(await a.getByRole('button', { name: /承認する/ }).count(), 0, 'no approve button for one\'s own');
  await h.checkPage(a);
  const proposalUrl = a.url().replace(/\?.*$/, '');

  // A simulates: the disclosure above would flip, with a link to its log entry.
  await a.getByRole('link', { name: /シミュレーション/ }).click();
  await assert.doesNotReject(a.getByRole('heading', { level: 1, name: '影響のシミュレーション' }).waitFor());
  await assert.doesNotReject(a.getByRole('cell', { name: '提供されていたが、提供されなくなる' }).waitFor());
  await assert.doesNotReject(a.getByRole('cell', { name: 'jobota', exact: true }).waitFor());
  const link = a.getByRole('link', { name: `記録 #${index}` });
  assert.equal(await link.getAttribute('href'), `/console/log/entries/${index}`);
  await h.checkPage(a);
  await h.shot(a, 'pa-simulation');

  // A explains one question under the policy in force and the proposal.
  await a.goto(proposalUrl);
  await a.getByRole('link', { name: '個別の判定を説明する' }).click();
  await a.getByLabel('役割').selectOption('caseworker');
  await a.getByLabel('機関').selectOption('jobota');
  await a.getByLabel('操作').selectOption('disclose:consent');
  await a.getByLabel('情報の区分').selectOption('employment');
  await a.getByRole('button', { name: '説明を見る' }).click();
  await assert.doesNotReject(a.getByText('許可されます。').waitFor());
  await assert.doesNotReject(a.getByText('当てはまる規則がないため、許可されません。').waitFor());
  await h.checkPage(a);

  // B approves from the queue.
  const { page: b } = await h.open('welfare-coordination');
  await h.login(b, 'admin-baba', 'policy-admin');
  await b.goto(h.url('/console/policy/proposals'));
  await h.checkPage(b);
  await h.shot(b, 'pa-queue');
  await b.getByRole('button', { name: /admin-aokiさんの提案.*を承認する/ }).click();
  await assert.doesNotReject(b.getByText('提案を承認しました').waitFor());
  await assert.doesNotReject(b.getByText('admin-babaさんが承認済み').waitFor());
  await h.checkPage(b);

  // A applies: version 2 is in force.
  await a.goto(proposalUrl);
  await a.getByRole('button', { name: '適用する（新しい版にする）' }).click();
  await assert.doesNotReject(a.getByText('提案を適用し、第2版にしました').waitFor());
  await h.checkPage(a);

  // History and diff.
  await a.getByRole('link', { name: '版の履歴' }).click();
  await assert.doesNotReject(a.getByRole('link', { name: '第2版' }).waitFor());
  await assert.doesNotReject(a.getByRole('cell', { name: '就労の区分は同意書の様式を見直すまで止める' }).waitFor());
  await h.checkPage(a);
  await a.getByLabel('比較元の版').selectOption('1');
  await a.getByLabel('比較先の版').selectOption('2');
  await a.getByRole('button', { name: '比較する' }).click();
  await assert.doesNotReject(a.getByRole('heading', { name: '第1版から第2版への変更' }).waitFor());
  await assert.doesNotReject(a.getByText(EMPLOYMENT).waitFor());
  await h.checkPage(a);

  // Rollback to version 1: a confirmation, then a new version 3.
  await a.goto(h.url('/console/policy/versions/1'));
  await h.checkPage(a);
  await a.getByRole('link', { name: /ロールバック/ }).click();
  await assert.doesNotReject(a.getByRole('heading', { level: 1, name: 'ロールバックの確認' }).waitFor());
  await h.checkPage(a);
  await a.getByLabel('理由').fill('各課と相談するまで元に戻す');
  await a.getByRole('button', { name: 'ロールバックする' }).click();
  await assert.doesNotReject(a.getByText('ロールバックし、第3版にしました').waitFor());
  await h.checkPage(a);
});

test('a caseworker opening the policy gets the refusal page', async () => {
  const { page } = await h.open('jobota');
  await h.login(page, 'cw-sato', 'caseworker');
  const res = await page.goto(h.url('/console/policy'));
  assert.equal(res.status(), 403);
  await assert.doesNotReject(page.getByText('この操作は許可されていません').waitFor());
  await h.checkPage(page);
});
