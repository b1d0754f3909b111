// The caseworker's screens in a real browser, end to end: the regional support centre registers
// a person, writes a record and records a consent naming JOBOTA; on JOBOTA's terminal a
// caseworker links the referred person, asks for a disclosure under that consent and sees what
// was disclosed and what was withheld (with the receipt's proof), asks with a purpose the
// consent does not name and is refused in Japanese; the centre revokes the consent and JOBOTA's
// notifications say so. Every page is checked by axe-core and for CSP violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hub } from './harness.mjs';

let h;
before(async () => { h = await hub(); });
after(async () => { await h?.stop(); });

test('register, record, consent; JOBOTA asks under it, is refused off-purpose; revocation is notified', async () => {
  // --- The regional support centre ---
  const { page: rsc } = await h.open('regional-support-centre');
  await h.login(rsc, 'cw-sato', 'caseworker');
  await rsc.getByRole('link', { name: /本人を探す/ }).first().click();
  await assert.doesNotReject(rsc.getByRole('heading', { level: 1, name: '本人を探す・登録する' }).waitFor());
  await h.checkPage(rsc);
  await rsc.locator('#register-local-id').fill('RSC-2001');
  await rsc.getByRole('button', { name: '登録する' }).click();
  await assert.doesNotReject(rsc.getByText('相談者を登録しました。').waitFor());
  const subject = (await rsc.locator('dl.facts dd.mono').first().textContent()).trim();
  assert.match(subject, /^[0-9a-f-]{36}$/);
  await h.checkPage(rsc);

  await rsc.getByRole('link', { name: '記録を書く' }).click();
  await h.checkPage(rsc);
  await rsc.getByLabel('記録の目的（取得した目的）').fill('生活困窮者自立支援');
  await rsc.locator('#content-identity').fill('山田 太郎、1976年5月1日生、大田区蒲田');
  await rsc.locator('#content-employment').fill('2019年から無職。短時間の仕事を希望。');
  await rsc.locator('#content-health').fill('糖尿病（インスリン使用）');
  await rsc.getByRole('button', { name: '記録する' }).click();
  await assert.doesNotReject(rsc.getByText('記録を保存しました。').waitFor());
  await h.checkPage(rsc);

  await rsc.getByRole('link', { name: '同意を記録する' }).click();
  await h.checkPage(rsc);
  await rsc.getByLabel(/JOBOTA/).check();
  await rsc.getByLabel(/^利用目的/).fill('就労支援');
  await rsc.getByLabel('本人確認情報', { exact: true }).check();
  await rsc.getByLabel('就労', { exact: true }).check();
  await rsc.getByLabel(/有効期間の終了日/).fill('2099-12-31');
  await rsc.getByLabel(/証拠の保管場所/).fill('同意書 2026-301');
  await rsc.getByRole('button', { name: '同意を記録する' }).click();
  await assert.doesNotReject(rsc.getByText('同意を記録しました。').waitFor());
  await assert.doesNotReject(rsc.getByText('有効', { exact: true }).waitFor());
  await h.checkPage(rsc);
  await h.shot(rsc, 'cw-person');

  // --- JOBOTA: link the referred person, ask under the consent ---
  const { page: job } = await h.open('jobota');
  await h.login(job, 'cw-kato', 'caseworker');
  await job.goto(h.url('/console/persons'));
  await h.checkPage(job);
  await job.locator('#link-subject').fill(subject);
  await job.locator('#link-local-id').fill('JOB-0301');
  await job.getByRole('button', { name: '結び付ける' }).click();
  await assert.doesNotReject(job.getByText('相談者を自機関のケース番号に結び付けました。').waitFor());
  await h.checkPage(job);

  await job.getByRole('link', { name: '情報提供を求める' }).click();
  await h.checkPage(job);
  const ask = async (purpose) => {
    await job.getByLabel(/本人同意（記録を持つ機関/).check();
    await job.getByLabel(/^目的/).fill(purpose);
    await job.getByRole('button', { name: '情報提供を求める' }).click();
    await job.getByRole('heading', { level: 1, name: '情報提供の結果' }).waitFor();
  };
  await ask('就労支援');
  await assert.doesNotReject(job.getByText('2019年から無職。短時間の仕事を希望。').waitFor());
  await assert.doesNotReject(job.getByText('根拠（同意・会議など）の範囲外の区分です。').first().waitFor());
  assert.equal(await job.getByText('糖尿病').count(), 0, 'health is withheld');
  await h.checkPage(job);
  await h.shot(job, 'cw-disclosure-result');

  // The receipt's proof: the same tlog-proof file as the JSON API, once a checkpoint holds it.
  const href = await job.getByRole('link', { name: /証明（tlog-proof ファイル）/ }).getAttribute('href');
  let proof;
  for (let i = 0; i < 40; i += 1) {
    proof = await job.request.get(h.url(href));
    if (proof.status() === 200) break;
    await new Promise((r) => { setTimeout(r, 250); });
  }
  assert.equal(proof.status(), 200);
  assert.match(proof.headers()['content-disposition'], /^attachment/);
  assert.match(await proof.text(), /^c2sp\.org\/tlog-proof@v1\n/);

  // A purpose the consent does not name: refused, in Japanese.
  await job.goBack();
  await job.waitForURL(/\/disclosures\/new$/);
  await ask('家計改善支援');
  await assert.doesNotReject(job.getByText('同意の利用目的に、この目的が含まれていません。').waitFor());
  await assert.doesNotReject(job.getByText('consent_purpose_not_in_scope').first().waitFor());
  await h.checkPage(job);

  // The emergency form and its warnings (not submitted here).
  await job.goto(h.url(`/console/persons/${subject}/emergency/new`));
  await assert.doesNotReject(job.getByText(/個人情報保護担当に通知されます/).waitFor());
  await h.checkPage(job);

  // --- The centre revokes; JOBOTA is told ---
  await rsc.getByLabel('撤回の理由').fill('本人から撤回の申し出');
  await rsc.getByRole('button', { name: '同意を撤回する' }).click();
  await assert.doesNotReject(rsc.getByText('同意を撤回しました。', { exact: false }).waitFor());
  await assert.doesNotReject(rsc.getByText('撤回済み', { exact: true }).waitFor());
  await h.checkPage(rsc);

  await job.getByRole('link', { name: 'お知らせ', exact: true }).first().click();
  await assert.doesNotReject(job.getByRole('rowheader', { name: '同意の撤回' }).waitFor());
  await h.checkPage(job);

  await job.goto(h.url(`/console/persons/${subject}`));
  await assert.doesNotReject(job.getByText('提供あり').waitFor());
  await assert.doesNotReject(job.getByText('拒否', { exact: true }).waitFor());
  await h.checkPage(job);
});
