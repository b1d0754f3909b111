// A support meeting (支援会議, Art. 106-6) end to end in a real browser: the ward's secretariat
// convenes a body, publishes a second pledge version, creates a session and invites two members;
// each member confirms and accepts the pledge on their own agency's terminal while reading it;
// the secretariat adds the agenda and publishes it; an information request to the regional
// support centre is answered there; the session record prints on A4. Every page is checked by
// axe-core and for CSP violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hub } from './harness.mjs';

let h;
before(async () => { h = await hub(); });
after(async () => { await h?.stop(); });

/** Tomorrow's date in Japan time, as a date input takes it. */
function tomorrowInJapan() {
  const t = new Date(Date.now() + 9 * 3600_000 + 24 * 3600_000);
  return t.toISOString().slice(0, 10);
}

/** A member opens their invitation, reads the pledge and accepts it on their own terminal. */
async function confirmAndPledge(agency, user, { shot } = {}) {
  const { page } = await h.open(agency);
  await h.login(page, user, 'caseworker');
  await page.goto(h.url('/console/invitations'));
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: '招待と誓約' }).waitFor());
  await h.checkPage(page);
  await page.getByRole('link', { name: /誓約書を読んで参加を確認する/ }).click();
  await assert.doesNotReject(page.getByText('退任後も、会議で知った秘密を守ります。').waitFor());
  await assert.doesNotReject(page.getByText('議題は、参加を確認し最新の誓約書に同意した構成員だけに表示されます。').waitFor());
  await h.checkPage(page);
  if (shot) await h.shot(page, shot);
  await page.getByLabel(/第2版）を読み、内容に同意します/).check();
  await page.getByRole('button', { name: '参加を確認し、誓約する' }).click();
  await assert.doesNotReject(page.getByText('参加を確認し、誓約書に同意しました。').waitFor());
  await h.checkPage(page);
  return page;
}

test('the ward runs a support meeting from the console, members pledge on their own terminals, the record prints', async () => {
  // The person the meeting is about, registered by the regional support centre (JSON set-up).
  const rsc = await h.api('sato', 'regional-support-centre', 'caseworker');
  const created = await rsc.post('/v1/subjects', { local_id: 'RSC-0001' });
  assert.equal(created.status, 201);
  const subject = created.body.id;
  const record = await rsc.post(`/v1/subjects/${subject}/records`, {
    purpose: 'long-term care support',
    sections: [{ category: 'identity', content: '山田 太郎' }, { category: 'household', content: '母と同居' }],
  });
  assert.equal(record.status, 201);

  // The ward's secretariat convenes the body.
  const { page: sec } = await h.open('welfare-coordination');
  await h.login(sec, 'kato', 'meeting-secretariat');
  await sec.getByRole('link', { name: '会議', exact: true }).first().click();
  await assert.doesNotReject(sec.getByRole('heading', { level: 1, name: '会議（事務局）' }).waitFor());
  await h.checkPage(sec);
  await sec.getByLabel('種類').selectOption('support-meeting');
  await sec.getByLabel('会議体の名称').fill('大田区支援会議');
  await sec.getByLabel('会議の運営ルール').fill('支援に必要な範囲でのみ共有する。');
  await sec.getByLabel('誓約書の本文（第1版）').fill('この会議で知り得た秘密を漏らしません（社会福祉法 第106条の6第5項）。');
  await sec.getByRole('button', { name: '設置する' }).click();
  await assert.doesNotReject(sec.getByText('会議体を設置しました。').waitFor());
  await h.checkPage(sec);

  // A second pledge version, then a session tomorrow at 14:00 (Japan time).
  await sec.getByLabel('新しい版の本文').fill('この会議で知り得た秘密を漏らしません。退任後も、会議で知った秘密を守ります。');
  await sec.getByRole('button', { name: '新しい版を公開する' }).click();
  await assert.doesNotReject(sec.getByText('誓約書の新しい版を公開しました。').waitFor());
  await h.checkPage(sec);
  const day = tomorrowInJapan();
  await sec.getByLabel('開催日').fill(day);
  await sec.getByLabel('開始時刻').fill('14:00');
  await sec.getByRole('button', { name: '作成する', exact: true }).click();
  await assert.doesNotReject(sec.getByText('開催回を作成しました。').waitFor());
  await h.checkPage(sec);
  const sessionUrl = sec.url().split('?')[0];

  // Two invitations: invitations only, until each person acts.
  for (const [user, agency] of [['suzuki', 'sapota'], ['sato', 'regional-support-centre']]) {
    await sec.locator('#inv-user').fill(user);
    await sec.locator('#inv-agency').selectOption(agency);
    await sec.getByRole('button', { name: '招待する' }).click();
    await assert.doesNotReject(sec.getByText('招待しました。').waitFor());
  }
  assert.equal(await sec.getByRole('cell', { name: '招待中（本人の参加確認待ち）' }).count(), 2);
  await h.checkPage(sec);

  // Each member confirms and accepts the pledge on their own agency's terminal.
  await confirmAndPledge('sapota', 'suzuki', { shot: 'meet-pledge' });
  const member = await confirmAndPledge('regional-support-centre', 'sato');

  // The secretariat adds the agenda and publishes it.
  await sec.goto(sessionUrl);
  assert.equal(await sec.getByRole('cell', { name: /参加確認済み/ }).count(), 2);
  await sec.locator('#ag-subject').fill(subject);
  await sec.getByRole('button', { name: '追加する' }).click();
  await assert.doesNotReject(sec.getByText('議題に追加しました。').waitFor());
  await sec.getByRole('button', { name: '議題を公開する' }).click();
  await assert.doesNotReject(sec.getByText('議題を公開しました。閲覧期間が始まりました。').waitFor());
  await h.checkPage(sec);

  // The member now sees the agenda, and SAPOTA's member receives the centre's records under the
  // meeting (over the JSON API, as their case system would ask).
  await member.reload();
  await assert.doesNotReject(member.getByText(subject).first().waitFor());
  await h.checkPage(member);
  const suzuki = await h.api('suzuki', 'sapota', 'caseworker');
  const disclosure = await suzuki.post('/v1/disclosures', {
    subject_id: subject, owner_agency: 'regional-support-centre', purpose: 'multi-agency support planning',
    basis: { type: 'support-meeting', session_id: sessionUrl.split('/').pop() },
  });
  assert.equal(disclosure.status, 200, JSON.stringify(disclosure.body));

  // An information request to the regional support centre, for kato only.
  await sec.locator('#rq-asked').selectOption('regional-support-centre');
  await sec.locator('#rq-subject').fill(subject);
  await sec.locator('#rq-user').fill('kato');
  await sec.locator('#rq-agency').selectOption('welfare-coordination');
  await sec.getByRole('button', { name: '求める', exact: true }).click();
  await assert.doesNotReject(sec.getByText(/情報提供を求めました。/).waitFor());
  await h.checkPage(sec);

  // The centre's caseworker answers it on the centre's terminal: identity and household.
  await member.goto(h.url('/console/invitations'));
  await assert.doesNotReject(member.getByRole('heading', { name: /自機関あての情報提供の求め/ }).waitFor());
  await h.checkPage(member);
  await member.getByLabel('本人確認情報').check();
  await member.getByLabel('世帯', { exact: true }).check();
  await member.getByRole('button', { name: '選んだ区分を提供する' }).click();
  await assert.doesNotReject(member.getByText(/情報提供の求めに回答しました/).waitFor());
  await h.checkPage(member);

  // kato, the recipient the request names, accepts the pledge to receive the answer.
  await sec.goto(h.url('/console/invitations'));
  await assert.doesNotReject(sec.getByRole('heading', { name: '回答の受け手に指定された情報提供の求め' }).waitFor());
  await h.checkPage(sec);
  await sec.getByRole('link', { name: /誓約書を読んで同意する/ }).click();
  await h.checkPage(sec);
  await sec.getByLabel(/内容に同意します/).check();
  await sec.getByRole('button', { name: '誓約書に同意する' }).click();
  await assert.doesNotReject(sec.getByText('誓約書に同意しました。').waitFor());
  await h.checkPage(sec);

  // The secretariat sees the answer, records the follow-up and the decision summary.
  await sec.goto(sessionUrl);
  await assert.doesNotReject(sec.getByRole('cell', { name: /提供済み/ }).waitFor());
  await sec.locator('#fu-subject').fill(subject);
  await sec.locator('#fu-user').fill('suzuki');
  await sec.locator('#fu-agency').selectOption('sapota');
  const until = new Date(Date.now() + 9 * 3600_000 + 90 * 86400_000).toISOString().slice(0, 10);
  await sec.locator('#fu-until').fill(until);
  await sec.getByRole('button', { name: '記録する' }).click();
  await assert.doesNotReject(sec.getByText('フォローアップの担当を記録しました。').waitFor());
  await sec.getByLabel('誰が何をするか').fill('SAPOTAが毎週訪問し、JOBOTAが就労支援を案内する。');
  await sec.getByRole('button', { name: '保存する' }).click();
  await assert.doesNotReject(sec.getByText('決定事項の要旨を保存しました。').waitFor());
  await h.checkPage(sec);
  await h.shot(sec, 'meet-session');

  // The printable record: on screen, then as print (A4).
  await sec.getByRole('link', { name: '会議録（印刷用）' }).click();
  await assert.doesNotReject(sec.getByRole('heading', { level: 1, name: /会議録/ }).waitFor());
  await assert.doesNotReject(sec.getByText('SAPOTAが毎週訪問し、JOBOTAが就労支援を案内する。').waitFor());
  await assert.doesNotReject(sec.getByRole('cell', { name: '本人確認情報・世帯' }).first().waitFor());
  await assert.doesNotReject(sec.getByRole('cell', { name: /suzuki \/ SAPOTA/ }).first().waitFor());
  await h.checkPage(sec);
  await sec.emulateMedia({ media: 'print' });
  assert.equal(await sec.locator('nav.nav').isVisible(), false, 'no navigation on paper');
  assert.equal(await sec.locator('.no-print').first().isVisible(), false);
  const pdf = await sec.pdf({ format: 'A4', printBackground: true });
  assert.ok(pdf.length > 1000 && pdf.subarray(0, 4).toString() === '%PDF', 'the record prints');
  await h.shot(sec, 'meet-record');
  await sec.emulateMedia({ media: 'screen' });
});

test("another agency's secretariat cannot open the ward's meeting pages", async () => {
  const ward = await h.api('kato', 'welfare-coordination', 'meeting-secretariat');
  const body = await ward.post('/v1/bodies', {
    kind: 'support-meeting', name: '大田区支援会議', rules_text: 'x', pledge_text: 'x',
  });
  assert.equal(body.status, 201);
  const session = await ward.post(`/v1/bodies/${body.body.id}/sessions`, { held_at: new Date(Date.now() + 86400_000).toISOString() });
  assert.equal(session.status, 201);
  const { page } = await h.open('jobota');
  await h.login(page, 'sec-ito', 'meeting-secretariat');
  const res = await page.goto(h.url(`/console/meetings/sessions/${session.body.id}`));
  assert.equal(res.status(), 403);
  await assert.doesNotReject(page.getByText('この会議体の事務局ではありません。').waitFor());
  await h.checkPage(page);
});
