// One whole case of team support (チーム支援, issue 11) through the console in Japanese — the
// same case as tests/api/team_case.rs, each actor on their own agency's terminal (own client
// certificate):
//
// the regional support centre registers the person, writes the record and records the consent
// naming SAPOTA, and refers the person to SAPOTA from the person's page → SAPOTA reads what
// travels with the referral and accepts → the ward's secretariat convenes a support meeting, a
// session, invites SAPOTA's and JOBOTA's staff, who confirm and pledge on their own terminals →
// the secretariat creates the plan (roles for SAPOTA and JOBOTA) from the session page's form →
// SAPOTA records its monitoring round → SAPOTA and JOBOTA exchange notes on the timeline → the
// secretariat records that JOBOTA's member left → JOBOTA's plan page is the left_team refusal →
// the centre records the person's withdrawal of the consent (the referral's material is refused)
// → the coordinator ends the plan (SAPOTA sees 終結) → the coordinator's figures count the case
// ("<3" this month). Everything through the console; nothing over the JSON API. Every page is
// checked by axe-core and for CSP violations; screenshots for the README's walkthrough.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hub } from './harness.mjs';

let h;
before(async () => { h = await hub(); });
after(async () => { await h?.stop(); });

/** A date `days` from now in Japan time, as a date input takes it. */
function dateInJapan(days) {
  return new Date(Date.now() + 9 * 3600_000 + days * 86_400_000).toISOString().slice(0, 10);
}

/** A member opens their invitation, reads the pledge and accepts it on their own terminal. */
async function confirmAndPledge(agency, user) {
  const { page } = await h.open(agency);
  await h.login(page, user, 'caseworker');
  await page.goto(h.url('/console/invitations'));
  await page.getByRole('link', { name: /誓約書を読んで参加を確認する/ }).click();
  await page.getByLabel(/を読み、内容に同意します/).check();
  await page.getByRole('button', { name: '参加を確認し、誓約する' }).click();
  await assert.doesNotReject(page.getByText('参加を確認し、誓約書に同意しました。').waitFor());
  await h.checkPage(page);
  return page;
}

test('one case through the team: consultation, referral, support meeting, plan, monitoring, notes, leaving, revocation, end, figures', async () => {
  // 1. The consultation: the regional support centre registers the person and writes the record.
  const { page: rsc } = await h.open('regional-support-centre');
  await h.login(rsc, 'sato', 'caseworker');
  await rsc.goto(h.url('/console/persons'));
  await rsc.locator('#register-local-id').fill('RSC-5001');
  await rsc.getByRole('button', { name: '登録する' }).click();
  await assert.doesNotReject(rsc.getByText('相談者を登録しました。').waitFor());
  const subject = (await rsc.locator('dl.facts dd.mono').first().textContent()).trim();
  assert.match(subject, /^[0-9a-f-]{36}$/);
  const personUrl = h.url(`/console/persons/${subject}`);
  await rsc.getByRole('link', { name: '記録を書く' }).click();
  await rsc.getByLabel('記録の目的（取得した目的）').fill('生活困窮者自立支援');
  await rsc.locator('#content-identity').fill('佐藤 一郎、1985年生、大田区大森');
  await rsc.locator('#content-household').fill('母親(82)と二人暮らし');
  await rsc.locator('#content-health').fill('糖尿病（インスリン使用）');
  await rsc.getByRole('button', { name: '記録する' }).click();
  await assert.doesNotReject(rsc.getByText('記録を保存しました。').waitFor());

  // 2. The person's consent naming SAPOTA, and the referral from the person's page.
  await rsc.goto(personUrl);
  await rsc.getByRole('link', { name: '同意を記録する' }).click();
  await rsc.getByLabel(/SAPOTA/).check();
  await rsc.getByLabel(/^利用目的/).fill('生活困窮者自立支援');
  await rsc.getByLabel('本人確認情報', { exact: true }).check();
  await rsc.getByLabel('世帯', { exact: true }).check();
  await rsc.getByLabel(/有効期間の終了日/).fill('2099-12-31');
  await rsc.getByLabel(/証拠の保管場所/).fill('同意書 2026-205');
  await rsc.getByRole('button', { name: '同意を記録する' }).click();
  await assert.doesNotReject(rsc.getByText('同意を記録しました。').waitFor());
  await h.checkPage(rsc);
  await rsc.goto(personUrl);
  await rsc.getByRole('link', { name: '他機関へつなぐ' }).click();
  await rsc.getByRole('radio', { name: 'SAPOTA ひきこもり支援室', exact: true }).check();
  await rsc.getByLabel(/^目的/).fill('生活困窮者自立支援');
  await rsc.getByLabel('本人確認情報', { exact: true }).check();
  await rsc.getByLabel('世帯', { exact: true }).check();
  await rsc.getByLabel(/を名指しした同意/).check();
  await rsc.getByLabel(/^申し送り/).fill('母親(82)と二人暮らし。家計の相談を希望。');
  await rsc.getByRole('button', { name: 'つなぐ', exact: true }).click();
  await assert.doesNotReject(rsc.getByText('紹介しました。紹介先に通知しました。').waitFor());
  await h.checkPage(rsc);
  const referral = new URL(rsc.url()).pathname;

  // SAPOTA reads what travels with it (not health) and accepts.
  const { page: sap } = await h.open('sapota');
  await h.login(sap, 'suzuki', 'caseworker');
  await sap.goto(h.url(referral));
  await sap.getByRole('button', { name: '申し送りと共有記録を読む' }).click();
  await assert.doesNotReject(sap.getByText('母親(82)と二人暮らし。家計の相談を希望。').waitFor());
  assert.equal(await sap.getByText('インスリン').count(), 0, 'health does not travel');
  await h.checkPage(sap);
  await sap.getByRole('link', { name: '紹介へ戻る' }).click();
  await sap.getByLabel('自機関のケース番号').fill('SAP-0042');
  await sap.getByRole('button', { name: '紹介を受理する' }).click();
  await assert.doesNotReject(sap.getByText('紹介を受理し、自機関のケース番号でひも付けました。').waitFor());
  await h.checkPage(sap);

  // 3. The ward's secretariat convenes the support meeting and a session tomorrow, invites
  //    SAPOTA's and JOBOTA's staff; each confirms and pledges on their own terminal.
  const { page: sec } = await h.open('welfare-coordination');
  await h.login(sec, 'kato', 'meeting-secretariat');
  await sec.goto(h.url('/console/meetings'));
  await sec.getByLabel('種類').selectOption('support-meeting');
  await sec.getByLabel('会議体の名称').fill('大田区支援会議');
  await sec.getByLabel('会議の運営ルール').fill('支援に必要な範囲でのみ共有する。');
  await sec.getByLabel('誓約書の本文（第1版）').fill('この会議で知り得た秘密を漏らしません（社会福祉法 第106条の6第5項）。');
  await sec.getByRole('button', { name: '設置する' }).click();
  await assert.doesNotReject(sec.getByText('会議体を設置しました。').waitFor());
  const bodyUrl = sec.url().split('?')[0];
  await sec.getByLabel('開催日').fill(dateInJapan(1));
  await sec.getByLabel('開始時刻').fill('14:00');
  await sec.getByRole('button', { name: '作成する', exact: true }).click();
  await assert.doesNotReject(sec.getByText('開催回を作成しました。').waitFor());
  const sessionUrl = sec.url().split('?')[0];
  for (const [user, agency] of [['suzuki', 'sapota'], ['tanaka', 'jobota']]) {
    await sec.locator('#inv-user').fill(user);
    await sec.locator('#inv-agency').selectOption(agency);
    await sec.getByRole('button', { name: '招待する' }).click();
    await assert.doesNotReject(sec.getByText('招待しました。').waitFor());
  }
  await confirmAndPledge('sapota', 'suzuki');
  const job = await confirmAndPledge('jobota', 'tanaka');

  // 4. The secretariat creates the plan from the session page's form: roles for SAPOTA (lead)
  //    and JOBOTA, monitoring in 30 and 120 days.
  await sec.goto(sessionUrl);
  await sec.getByRole('link', { name: '新しい支援プラン' }).click();
  await assert.doesNotReject(sec.getByRole('heading', { level: 1, name: '新しい支援プラン' }).waitFor());
  await h.checkPage(sec);
  await sec.locator('#subject').fill(subject);
  assert.equal(await sec.getByLabel('支援会議の開催回（自機関が事務局のもの）').isChecked(), true);
  await sec.locator('#goals').fill('家計を立て直す\n短時間の仕事に就く');
  await sec.locator('#agency-1').selectOption('sapota');
  await sec.locator('#role-1').fill('家計相談（月2回）');
  await sec.locator('#lead-1').fill('鈴木');
  await sec.locator('#agency-2').selectOption('jobota');
  await sec.locator('#role-2').fill('就労準備支援');
  await sec.locator('#lead-2').fill('田中');
  await sec.locator('#services').fill('家計改善支援事業');
  await sec.locator('#due-1').fill(dateInJapan(30));
  await sec.locator('#due-2').fill(dateInJapan(120));
  await h.shot(sec, 'tc-plan-form');
  await sec.getByRole('button', { name: 'プランを作成する' }).click();
  await assert.doesNotReject(sec.getByText('支援プランを作成しました。役割を持つ機関に通知しました。').waitFor());
  await h.checkPage(sec);

  // 5. SAPOTA finds the plan under 支援プラン and records its monitoring round.
  await sap.goto(h.url('/console/plans'));
  const planLink = sap.locator('#plans a[href^="/console/plans/"]').first();
  const plan = (await planLink.textContent()).trim();
  await planLink.click();
  await assert.doesNotReject(sap.locator('#goals').getByText('家計を立て直す').waitFor());
  await assert.doesNotReject(sap.getByText('家計相談（月2回）').waitFor());
  await sap.getByLabel(/役割に対する進捗/).fill('家計表を作成した。');
  await sap.getByRole('button', { name: '進捗を記録する' }).click();
  await assert.doesNotReject(sap.getByText('進捗を記録しました。').waitFor());
  await assert.doesNotReject(sap.getByRole('cell', { name: '期限内' }).first().waitFor());
  await h.checkPage(sap);
  await h.shot(sap, 'tc-plan-monitoring');

  // 6. Notes exchanged on the team timeline.
  await sap.goto(h.url(`/console/plans/${plan}/notes`));
  await sap.getByLabel(/^メモ/).fill('訪問。母親の通院に付き添いが必要。');
  await sap.getByLabel('区分', { exact: true }).selectOption('case-notes');
  await sap.getByRole('button', { name: 'チームに投稿する' }).click();
  await assert.doesNotReject(sap.getByText('メモをチームのタイムラインに投稿しました。').waitFor());
  await job.goto(h.url(`/console/plans/${plan}/notes`));
  await assert.doesNotReject(job.getByText('訪問。母親の通院に付き添いが必要。').waitFor());
  await job.getByLabel(/^メモ/).fill('面談の日程を調整中。');
  await job.getByLabel('区分', { exact: true }).selectOption('case-notes');
  await job.getByRole('button', { name: 'チームに投稿する' }).click();
  await assert.doesNotReject(job.getByText('面談の日程を調整中。').waitFor());
  await h.checkPage(job);
  await h.shot(job, 'tc-notes');

  // 7. JOBOTA's member leaves the meeting: JOBOTA's plan page is the refusal at once.
  await sec.goto(bodyUrl);
  await sec.locator('#rm-user').fill('tanaka');
  await sec.getByRole('button', { name: '退任させる' }).click();
  await assert.doesNotReject(sec.getByText('退任を記録しました。この方はどの開催回でも閲覧できなくなりました。').waitFor());
  await h.checkPage(sec);
  const left = await job.goto(h.url(`/console/plans/${plan}`));
  assert.equal(left.status(), 403);
  await assert.doesNotReject(job.getByText(/このプランのチームから外れています/).waitFor());
  assert.equal(await job.getByText('家計を立て直す').count(), 0);
  await h.checkPage(job);
  await h.shot(job, 'tc-left-team');

  // 8. The person withdraws the consent: the referral's material is refused.
  await rsc.goto(personUrl);
  await rsc.getByLabel('撤回の理由').fill('本人の申出');
  await rsc.getByRole('button', { name: '同意を撤回する' }).click();
  await assert.doesNotReject(rsc.getByText('撤回済み', { exact: true }).waitFor());
  await h.checkPage(rsc);
  await sap.goto(h.url(referral));
  await sap.getByRole('button', { name: '申し送りと共有記録を読む' }).click();
  await assert.doesNotReject(sap.getByText(/consent_revoked/).first().waitFor());
  assert.equal(await sap.getByText('母親(82)と二人暮らし。家計の相談を希望。').count(), 0);
  await h.checkPage(sap);

  // 9. The coordinator ends the plan; the team sees 終結.
  const { page: coord } = await h.open('welfare-coordination');
  await h.login(coord, 'yamada', 'caseworker');
  await coord.getByRole('link', { name: '支援プラン', exact: true }).first().click();
  await coord.getByLabel('終結の理由').selectOption('goals-met');
  await coord.getByRole('button', { name: '終結する' }).click();
  await assert.doesNotReject(coord.getByText('プランを終結しました。チームはもう閲覧できません。').waitFor());
  await h.checkPage(coord);
  const ended = await sap.goto(h.url(`/console/plans/${plan}`));
  assert.equal(ended.status(), 403);
  await assert.doesNotReject(sap.getByText('このプランは終結しました。').waitFor());

  // 10. The coordinator's figures count the case this month, as a small cell.
  await coord.getByRole('navigation').getByRole('link', { name: '事業実績' }).click();
  await assert.doesNotReject(coord.getByRole('heading', { level: 1, name: '事業実績' }).waitFor());
  for (const measure of ['支援プランの開始', '支援プランの終結', 'モニタリング（期限内）']) {
    const row = coord.getByRole('row', { name: new RegExp(`^${measure.replace(/[()（）]/g, '.')}`) }).first();
    await assert.doesNotReject(row.getByRole('cell', { name: '<3', exact: true }).first().waitFor(), measure);
  }
  await h.checkPage(coord);
  await h.shot(coord, 'tc-figures');
});
