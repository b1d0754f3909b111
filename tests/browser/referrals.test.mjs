// Referrals (つなぎ) in a real browser: the regional support centre's caseworker refers a
// person to SAPOTA from the person's page under the person's consent, with a note; on SAPOTA's
// terminal a caseworker finds the referral in the inbox, reads what travels with it (the note
// and the shared records, with the receipt) and accepts it under SAPOTA's own case number; the
// centre's outbox shows it accepted and its notices say so. A second referral is withdrawn and
// SAPOTA sees only the fact of it. Every page is checked by axe-core and for CSP violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hub } from './harness.mjs';

let h;
before(async () => { h = await hub(); });
after(async () => { await h?.stop(); });

test('refer to SAPOTA under consent; SAPOTA reads the material and accepts; a withdrawn referral leaves only the fact', async () => {
  // The person, a record and a consent naming SAPOTA (set up over the API).
  const api = await h.api('sato', 'regional-support-centre', 'caseworker');
  const made = await api.post('/v1/subjects', { local_id: 'RSC-3001' });
  assert.equal(made.status, 201);
  const subject = made.body.id;
  const rec = await api.post(`/v1/subjects/${subject}/records`, {
    purpose: 'ひきこもり支援',
    sections: [
      { category: 'identity', content: '佐藤 健、1998年生、大田区大森' },
      { category: 'household', content: '母と二人暮らし' },
      { category: 'health', content: '不眠で通院中' },
    ],
  });
  assert.equal(rec.status, 201);
  const consent = await api.post(`/v1/subjects/${subject}/consents`, {
    recipients: ['sapota'],
    purposes: ['ひきこもり支援'],
    categories: ['identity', 'household'],
    valid_until: '2099-12-31T00:00:00Z',
    method: 'written',
    evidence_ref: '同意書 2026-401',
  });
  assert.equal(consent.status, 201);

  // --- The centre refers from the person's page ---
  const { page: rsc } = await h.open('regional-support-centre');
  await h.login(rsc, 'cw-sato', 'caseworker');
  await rsc.goto(h.url(`/console/persons/${subject}`));
  await rsc.getByRole('link', { name: '他機関へつなぐ' }).click();
  await assert.doesNotReject(rsc.getByRole('heading', { level: 1, name: '他機関へつなぐ' }).waitFor());
  await h.checkPage(rsc);
  await rsc.getByRole('radio', { name: 'SAPOTA ひきこもり支援室', exact: true }).check();
  await rsc.getByLabel(/^目的/).fill('ひきこもり支援');
  await rsc.getByLabel('本人確認情報', { exact: true }).check();
  await rsc.getByLabel('世帯', { exact: true }).check();
  await rsc.getByLabel(/を名指しした同意/).check();
  await rsc.getByLabel(/^申し送り/).fill('日中は在宅。訪問は午後が望ましい。');
  await rsc.getByRole('button', { name: 'つなぐ', exact: true }).click();
  await assert.doesNotReject(rsc.getByText('紹介しました。紹介先に通知しました。').waitFor());
  await assert.doesNotReject(rsc.getByText('回答待ち').first().waitFor());
  await h.checkPage(rsc);
  const referral = rsc.url().replace(/\?.*$/, '');

  // --- SAPOTA: inbox, material, accept ---
  const { page: sap } = await h.open('sapota');
  await h.login(sap, 'cw-suzuki', 'caseworker');
  await sap.getByRole('link', { name: /つなぎ（紹介）/ }).first().click();
  await assert.doesNotReject(sap.getByRole('heading', { level: 1, name: 'つなぎ（紹介）' }).waitFor());
  await h.checkPage(sap);
  await sap.locator(`a[href="${new URL(referral).pathname}"]`).first().click();
  await assert.doesNotReject(sap.getByRole('heading', { level: 1, name: /紹介/ }).waitFor());
  await h.checkPage(sap);
  await sap.getByRole('button', { name: '申し送りと共有記録を読む' }).click();
  await assert.doesNotReject(sap.getByText('日中は在宅。訪問は午後が望ましい。').waitFor());
  await assert.doesNotReject(sap.getByText('母と二人暮らし').waitFor());
  assert.equal(await sap.getByText('不眠').count(), 0, 'health does not travel');
  await h.checkPage(sap);
  await h.shot(sap, 'rf-material');
  await sap.getByRole('link', { name: '紹介へ戻る' }).click();
  await sap.getByLabel('自機関のケース番号').fill('SAP-0077');
  await sap.getByRole('button', { name: '紹介を受理する' }).click();
  await assert.doesNotReject(sap.getByText('紹介を受理し、自機関のケース番号でひも付けました。').waitFor());
  await assert.doesNotReject(sap.getByRole('link', { name: 'SAP-0077' }).waitFor());
  await h.checkPage(sap);

  // --- The centre: the outbox and the notice ---
  await rsc.goto(h.url('/console/referrals'));
  await assert.doesNotReject(rsc.getByText('受理', { exact: true }).first().waitFor());
  await h.checkPage(rsc);
  await h.shot(rsc, 'rf-list');
  await rsc.getByRole('link', { name: 'お知らせ', exact: true }).first().click();
  await assert.doesNotReject(rsc.getByRole('rowheader', { name: '紹介の受理' }).waitFor());

  // --- A second referral, withdrawn: SAPOTA keeps only the fact ---
  await rsc.goto(h.url(`/console/persons/${subject}/referrals/new`));
  await rsc.getByRole('radio', { name: 'SAPOTA ひきこもり支援室', exact: true }).check();
  await rsc.getByLabel(/^目的/).fill('ひきこもり支援');
  await rsc.getByLabel('本人確認情報', { exact: true }).check();
  await rsc.getByLabel(/を名指しした同意/).check();
  await rsc.getByRole('button', { name: 'つなぐ', exact: true }).click();
  await assert.doesNotReject(rsc.getByText('紹介しました。紹介先に通知しました。').waitFor());
  const second = rsc.url().replace(/\?.*$/, '');
  await rsc.getByLabel('理由').fill('本人が転居');
  await rsc.getByRole('button', { name: '紹介を取り下げる' }).click();
  await assert.doesNotReject(rsc.getByText('紹介を取り下げました。').waitFor());
  await h.checkPage(rsc);

  await sap.goto(second);
  await assert.doesNotReject(sap.getByText('取り下げ', { exact: true }).first().waitFor());
  await assert.doesNotReject(sap.getByText(/共有される情報はもうありません/).waitFor());
  assert.equal(await sap.getByRole('button', { name: '申し送りと共有記録を読む' }).count(), 0);
  await h.checkPage(sap);
});
