// Shared case notes (docs/rules.md#R-T9–R-T11) in a real browser: a consent-based support plan
// with roles for SAPOTA and JOBOTA (set up over the JSON API); SAPOTA's caseworker opens the
// team timeline, posts a note and sees it with its provenance; JOBOTA's caseworker reads it on
// their own terminal; someone not on the team gets the refusal page. Every page is checked by
// axe-core and for CSP violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hub } from './harness.mjs';

let h;
before(async () => { h = await hub(); });
after(async () => { await h?.stop(); });

function inDays(days) {
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
}

test('a plan team posts and reads case notes on its timeline; an outsider is refused', async () => {
  const rsc = await h.api('sato', 'regional-support-centre', 'caseworker');
  const created = await rsc.post('/v1/subjects', { local_id: 'RSC-0420' });
  assert.equal(created.status, 201);
  const subject = created.body.id;
  const consent = await rsc.post(`/v1/subjects/${subject}/consents`, {
    recipients: ['sapota', 'jobota'], purposes: ['multi-agency support'], categories: ['case-notes'],
    valid_from: '2026-01-01T00:00:00Z', valid_until: '2099-01-01T00:00:00Z',
    method: 'written', evidence_ref: 'consent form 2026-420',
  });
  assert.equal(consent.status, 201);
  const coordinator = await h.api('kato', 'welfare-coordination', 'caseworker');
  const plan = await coordinator.post('/v1/plans', {
    subject_id: subject,
    basis: { kind: 'consent', consent_ids: [consent.body.id] },
    goals: ['週3日の就労'],
    roles: [
      { agency: 'sapota', role: '外出支援', lead: '伊藤' },
      { agency: 'jobota', role: '就労準備', lead: '田中' },
    ],
    services: ['就労準備支援'],
    monitoring: [inDays(90)],
  });
  assert.equal(plan.status, 201, JSON.stringify(plan.body));
  const planId = plan.body.plan_id;

  // SAPOTA posts a note on the team timeline.
  const { page: sapota } = await h.open('sapota');
  await h.login(sapota, 'ito', 'caseworker');
  await sapota.goto(h.url(`/console/plans/${planId}/notes`));
  await assert.doesNotReject(sapota.getByRole('heading', { level: 2, name: 'チームのタイムライン' }).waitFor());
  await assert.doesNotReject(sapota.getByText('まだメモはありません。').waitFor());
  await h.checkPage(sapota);
  await sapota.getByLabel(/^メモ/).fill('初回面談。午前中の外出は可能。');
  await sapota.getByLabel('区分', { exact: true }).selectOption('case-notes');
  await sapota.getByRole('button', { name: 'チームに投稿する' }).click();
  await assert.doesNotReject(sapota.getByText('メモをチームのタイムラインに投稿しました。').waitFor());
  await assert.doesNotReject(sapota.getByText('初回面談。午前中の外出は可能。').waitFor());
  await h.checkPage(sapota);
  await h.shot(sapota, 'notes-timeline');

  // JOBOTA reads it on its own terminal, from the plan page's link, with who wrote it.
  const { page: jobota } = await h.open('jobota');
  await h.login(jobota, 'tanaka', 'caseworker');
  await jobota.goto(h.url(`/console/plans/${planId}`));
  await h.checkPage(jobota);
  await jobota.getByRole('link', { name: /チームのタイムラインを開く/ }).click();
  await assert.doesNotReject(jobota.getByRole('heading', { level: 2, name: 'チームのタイムライン' }).waitFor());
  await assert.doesNotReject(jobota.getByText('初回面談。午前中の外出は可能。').waitFor());
  await assert.doesNotReject(jobota.getByText(/ito \//).first().waitFor());
  await h.checkPage(jobota);

  // Not on the team: the refusal page, nothing of the notes.
  const { page: outsider } = await h.open('child-services');
  await h.login(outsider, 'mori', 'caseworker');
  const r = await outsider.goto(h.url(`/console/plans/${planId}/notes`));
  assert.equal(r.status(), 403);
  assert.equal(await outsider.getByText('初回面談').count(), 0);
  await h.checkPage(outsider);
});
