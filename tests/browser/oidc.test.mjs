// The OpenID Connect login in a real browser, against a small identity provider on loopback
// over HTTPS (here in node: discovery, JWKS, an authorization endpoint that logs the chosen
// person in at once, a token endpoint that checks the client, the code and the PKCE verifier and
// signs an ES256 ID token). The provider is at 127.0.0.1 and the hub at localhost: different
// sites, as in a ward, so the browser treats the provider's redirect back as cross-site — the
// story shows the login's form may redirect to the provider (CSP form-action), the callback's
// "continue" page, and the SameSite=Strict session cookie reaching the console by its link.
// (Tried by hand: with a 303 to /console/ instead of the continue page, Chromium sends no
// session cookie after the provider's page and lands on /console/login?reason=login_required.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hub, repo } from './harness.mjs';

const dev = (p) => path.join(repo, 'certs-dev', p);
const CLIENT_ID = 'tsunagi-console';
const CLIENT_SECRET = 'browser-story-secret';
const b64url = (b) => Buffer.from(b).toString('base64url');

/** The mock identity provider; `next` is who logs in at the next authorization request. */
async function identityProvider() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'story-1', use: 'sig', alg: 'ES256' };
  const codes = new Map();
  const idp = { next: null, issuer: '' };
  const server = createServer({ cert: readFileSync(dev('server.pem')), key: readFileSync(dev('server.key')) }, (req, res) => {
    const url = new URL(req.url, idp.issuer);
    const json = (status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: idp.issuer,
        authorization_endpoint: `${idp.issuer}/authorize`,
        token_endpoint: `${idp.issuer}/token`,
        jwks_uri: `${idp.issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        code_challenge_methods_supported: ['S256'],
      });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      // The provider's own login page: the person confirms there, so the way back to the hub
      // starts on the provider's page (a cross-site navigation, as with a real provider).
      const html = `<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>区の認証基盤</title></head>`
        + `<body><main><h1>区の認証基盤</h1><form method="post" action="/authorize${url.search.replace(/&/g, '&amp;')}">`
        + '<button type="submit">認証する</button></form></main></body></html>';
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(html);
      }
      const q = url.searchParams;
      const back = new URL(q.get('redirect_uri'));
      back.searchParams.set('state', q.get('state'));
      if (idp.next.deny) {
        back.searchParams.set('error', 'access_denied');
      } else {
        const code = b64url(randomBytes(24));
        codes.set(code, { challenge: q.get('code_challenge'), nonce: q.get('nonce'), redirect: q.get('redirect_uri'), who: idp.next });
        back.searchParams.set('code', code);
      }
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const basic = Buffer.from((req.headers.authorization || '').replace(/^Basic /, ''), 'base64').toString();
        const grant = codes.get(form.get('code'));
        codes.delete(form.get('code'));
        const verifier = form.get('code_verifier') || '';
        if (basic !== `${CLIENT_ID}:${CLIENT_SECRET}` || !grant || grant.redirect !== form.get('redirect_uri')
          || b64url(createHash('sha256').update(verifier).digest()) !== grant.challenge) {
          return json(400, { error: 'invalid_grant' });
        }
        const now = Math.floor(Date.now() / 1000);
        const claims = {
          iss: idp.issuer, sub: `subject-${grant.who.user}`, aud: CLIENT_ID, iat: now, exp: now + 300,
          nonce: grant.nonce, preferred_username: grant.who.user, tsunagi_agency: grant.who.agency,
          tsunagi_roles: grant.who.roles, amr: ['pwd', 'otp'],
        };
        const input = `${b64url(JSON.stringify({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
        const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
        return json(200, { access_token: b64url(randomBytes(16)), token_type: 'Bearer', expires_in: 300, id_token: `${input}.${b64url(signature)}` });
      });
      return undefined;
    }
    res.writeHead(404);
    return res.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  idp.issuer = `https://127.0.0.1:${server.address().port}`;
  idp.stop = () => new Promise((resolve) => server.close(resolve));
  return idp;
}

let h;
let idp;
before(async () => {
  idp = await identityProvider();
  h = await hub({
    env: (port) => ({
      TSUNAGI_CONSOLE__OIDC__ISSUER: idp.issuer,
      TSUNAGI_CONSOLE__OIDC__CLIENT_ID: CLIENT_ID,
      TSUNAGI_CONSOLE__OIDC__CLIENT_SECRET: CLIENT_SECRET,
      TSUNAGI_CONSOLE__OIDC__REDIRECT_URL: `https://localhost:${port}/console/login/callback`,
      TSUNAGI_CONSOLE__OIDC__CA_FILE: dev('ca.pem'),
      TSUNAGI_CONSOLE__OIDC__MFA_AMR: '["otp"]',
    }),
  });
});
after(async () => { await h?.stop(); await idp?.stop(); });

/** A context on `agency`'s terminal that also reaches the provider (through Playwright's proxy,
 *  which trusts the development CA that issued the provider's certificate). */
async function terminal(agency) {
  const cert = { certPath: dev(`clients/${agency}.pem`), keyPath: dev(`clients/${agency}.key`) };
  const ctx = await h.browser.newContext({
    locale: 'ja-JP',
    clientCertificates: [{ origin: h.base, ...cert }, { origin: idp.issuer, ...cert }],
    viewport: { width: 1280, height: 900 },
  });
  h.contexts.push(ctx);
  const page = await ctx.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) page.problems.push(`CSP: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  return page;
}

/** At the provider's page: the person confirms, and the provider sends the browser back. */
async function atProvider(page) {
  await page.waitForURL((u) => u.origin === idp.issuer);
  await page.getByRole('button', { name: '認証する' }).click();
  await page.waitForURL(/\/console\/login\/callback\?/);
}

test('a caseworker logs in at the ward identity provider and reaches the console by the continue page', async () => {
  const page = await terminal('jobota');
  idp.next = { user: 'cw-yamada', agency: 'jobota', roles: ['caseworker'] };
  await page.goto(h.url('/console/login'));
  const button = page.getByRole('button', { name: 'ログイン（区の認証基盤）' });
  await assert.doesNotReject(button.waitFor());
  await h.checkPage(page);

  await button.click();
  await atProvider(page);
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: 'ログインしました' }).waitFor());
  await h.checkPage(page);
  await h.shot(page, 'oidc-continue');

  await page.getByRole('link', { name: 'コンソールへ進む' }).click();
  await page.waitForURL(h.url('/console/'));
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: 'ホーム' }).waitFor());
  await assert.doesNotReject(page.getByText('cw-yamada').first().waitFor());
  assert.equal(await page.getByText('開発用ログイン').count(), 0, 'not a development session');
  await h.checkPage(page);
});

test('a login the provider refuses comes back as a Japanese reason on the login page', async () => {
  const page = await terminal('jobota');
  idp.next = { deny: true };
  await page.goto(h.url('/console/login'));
  await page.getByRole('button', { name: 'ログイン（区の認証基盤）' }).click();
  await atProvider(page);
  await assert.doesNotReject(page.getByText('取り消されたか、許可されませんでした').waitFor());
  await assert.doesNotReject(page.getByText('oidc_access_denied').waitFor());
  await h.checkPage(page);

  // The provider says the person belongs to another agency than this terminal's.
  idp.next = { user: 'cw-yamada', agency: 'sapota', roles: ['caseworker'] };
  await page.getByRole('button', { name: 'ログイン（区の認証基盤）' }).click();
  await atProvider(page);
  await assert.doesNotReject(page.getByText('端末の証明書の機関が一致しません').waitFor());
  await h.checkPage(page);
  await h.shot(page, 'oidc-refused');
});
