// A support plan (支援プラン, issue 11) in a real browser: the coordinator agrees a plan over the
// API with the person's consent naming JOBOTA and the regional support centre; a JOBOTA
// caseworker finds it under 支援プラン, reads it (goals, roles, lead persons, services), records
// their monitoring round from the form; an agency without a role gets a refusal page; the
// coordinator sees the overdue list and ends the plan, after which the team sees 終結. Every page
// is checked by axe-core and for CSP violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hub } from './harness.mjs';

let h;
before(async () => { h = await hub(); });
after(async () => { await h?.stop(); });

const inDays = (d) => new Date(Date.now() + d * 86_400_000).toISOString();

test('a team member reads and monitors a support plan, the coordinator ends it', async () => {
  const rsc = await h.api('sato', 'regional-support-centre', 'caseworker');
  const created = await rsc.post('/v1/subjects', { local_id: 'RSC-0301' });
  assert.equal(created.status, 201);
  const subject = created.body.id;
  const consent = await rsc.post(`/v1/subjects/${subject}/consents`, {
    recipients: ['jobota', 'regional-support-centre'], purposes: ['multi-agency support plan'],
    categories: ['case-notes'], valid_from: inDays(-1), valid_until: inDays(365),
    method: 'written', evidence_ref: 'plan consent 301',
  });
  assert.equal(consent.status, 201);
  const coordApi = await h.api('yamada', 'welfare-coordination', 'caseworker');
  const made = await coordApi.post('/v1/plans', {
    subject_id: subject,
    basis: { kind: 'consent', consent_ids: [consent.body.id] },
    goals: ['週3回の就労体験に通う', '母親の介護負担を減らす'],
    roles: [
      { agency: 'jobota', role: '就労体験先の調整と同行', lead: '田中' },
      { agency: 'regional-support-centre', role: '母親の介護サービスの調整', lead: '佐藤' },
    ],
    services: ['配食サービス', '通所介護'],
    monitoring: [inDays(30), inDays(120)],
  });
  assert.equal(made.status, 201);
  const plan = made.body.plan_id;

  // JOBOTA's caseworker: the list, the plan page, the monitoring form.
  const { page } = await h.open('jobota');
  await h.login(page, 'tanaka', 'caseworker');
  await page.getByRole('link', { name: '支援プラン', exact: true }).first().click();
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: '支援プラン' }).waitFor());
  await h.checkPage(page);
  await page.getByRole('link', { name: plan }).click();
  await assert.doesNotReject(page.locator('#goals').getByText('週3回の就労体験に通う').waitFor());
  await assert.doesNotReject(page.getByText('就労体験先の調整と同行').waitFor());
  await assert.doesNotReject(page.getByText('この表示は開示記録に残ります。').waitFor());
  await h.checkPage(page);
  await h.shot(page, 'plan-page');
  await page.getByLabel(/役割に対する進捗/).fill('体験先2か所を見学し、1か所で週2回の体験を開始した。');
  await page.getByRole('button', { name: '進捗を記録する' }).click();
  await assert.doesNotReject(page.getByText('進捗を記録しました。').waitFor());
  await assert.doesNotReject(page.getByText('体験先2か所を見学し、1か所で週2回の体験を開始した。').waitFor());
  await h.checkPage(page);

  // An agency without a role.
  const { page: other } = await h.open('sapota');
  await h.login(other, 'suzuki', 'caseworker');
  const refused = await other.goto(h.url(`/console/plans/${plan}`));
  assert.equal(refused.status(), 403);
  await assert.doesNotReject(other.getByText('自機関はこのプランのチームではありません').waitFor());
  await h.checkPage(other);

  // The coordinator: the overdue list, then ending the plan.
  const { page: coord } = await h.open('welfare-coordination');
  await h.login(coord, 'yamada', 'caseworker');
  await coord.goto(h.url('/console/plans'));
  await assert.doesNotReject(coord.getByRole('heading', { level: 2, name: '期限超過のモニタリング（調整担当）' }).waitFor());
  await h.checkPage(coord);
  await h.shot(coord, 'plan-coordinator');
  await coord.getByLabel('終結の理由').selectOption('goals-met');
  await coord.getByRole('button', { name: '終結する' }).click();
  await assert.doesNotReject(coord.getByText('プランを終結しました。チームはもう閲覧できません。').waitFor());
  await h.checkPage(coord);

  const gone = await page.goto(h.url(`/console/plans/${plan}`));
  assert.equal(gone.status(), 403);
  await assert.doesNotReject(page.getByText('このプランは終結しました。').waitFor());
});
