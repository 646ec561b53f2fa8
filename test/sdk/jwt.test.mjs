// Seed 000: project-scoped JWT authentication and the payment-methods API
// (wire contract §8), with tokens minted exactly as the seed shows, by the
// `jsonwebtoken` and `jose` npm packages. The operator's provisioning step
// ("support provisions keys") is the management endpoint
// POST /projects/{id}/keys {kid, generate: true}, which returns the PKCS #8
// private key once.

import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';

import jwt from 'jsonwebtoken';
import { SignJWT, UnsecuredJWT, importPKCS8 } from 'jose';

import { BASE_URL, MANAGEMENT_KEY } from './lib/helpers.mjs';

/** A management API call (BT-API-KEY, snake_case). */
async function mgmt(method, path, body) {
  const res = await fetch(BASE_URL + path, {
    method,
    headers: { 'BT-API-KEY': MANAGEMENT_KEY, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** A project API call with `Authorization: Bearer <token>`. */
async function api(token, method, path, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE_URL + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Seed 000's error object. */
function assertSeedError(res, status, type) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(typeof res.body?.error, 'object', JSON.stringify(res.body));
  const e = res.body.error;
  assert.equal(e.status, status);
  assert.equal(e.type, type);
  assert.equal(typeof e.title, 'string');
  assert.ok(e.message.length > 0);
  assert.ok(!/BEGIN|MII/.test(e.message), `message leaks key material: ${e.message}`);
  return e.message;
}

/** Provisions a project with one generated key: { projectId, kid, privateKeyPem, publicKeyPem }. */
async function provision() {
  const projectId = `project-${randomUUID().slice(0, 8)}`;
  const p = await mgmt('POST', '/projects', { id: projectId, name: 'SDK test' });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const kid = `key-${randomUUID().slice(0, 4)}`;
  const k = await mgmt('POST', `/projects/${projectId}/keys`, { kid, generate: true });
  assert.equal(k.status, 201, JSON.stringify(k.body));
  assert.equal(k.body.length, 1);
  assert.match(k.body[0].private_key, /^-----BEGIN PRIVATE KEY-----/);
  // The private key is shown once: the key list never carries it.
  const list = await mgmt('GET', `/projects/${projectId}/keys`);
  assert.ok(!JSON.stringify(list.body).includes('PRIVATE'));
  return { projectId, kid, privateKeyPem: k.body[0].private_key, publicKeyPem: k.body[0].public_key };
}

// Seed 000, "JWT Generation", verbatim but for the values.
function jsonwebtokenToken(privateKey, { sub, iss, kid, roles = ['private'] }) {
  const payload = {
    sub, // Subject: unique user identifier
    iss, // Issuer: your project ID
    roles, // Roles: permissions array
    iat: Math.floor(Date.now() / 1000), // Issued at time
  };
  const options = {
    algorithm: 'RS256',
    keyid: kid, // Key ID from your project
    expiresIn: '1h', // Token expiration
  };
  return jwt.sign(payload, privateKey, options);
}

// Seed 000, the jose example (createPublicJwt), with the role as a parameter.
async function joseToken(privateKeyPem, { sub, iss, kid, roles = ['public'] }) {
  const privateKey = await importPKCS8(privateKeyPem, 'RS256');
  return new SignJWT({
    sub, // Subject: unique user identifier
    iss, // Issuer: your project ID
    roles, // Public role for payment collection
  })
    .setProtectedHeader({
      alg: 'RS256', // Must use RS256 algorithm
      kid, // Key ID from your credentials
    })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
}

const card = { number: '4242424242424242', expirationMonth: '02', expirationYear: '2030', cvc: '123' };

describe('seed 000: payment methods with jsonwebtoken and jose tokens', () => {
  let prj;
  before(async () => {
    prj = await provision();
  });

  it('creates, reads, lists and deletes with a jsonwebtoken private token', async () => {
    const sub = `user-${randomUUID().slice(0, 8)}`;
    const token = jsonwebtokenToken(prj.privateKeyPem, { sub, iss: prj.projectId, kid: prj.kid });
    const base = `/projects/${prj.projectId}/payment-methods`;

    const created = await api(token, 'POST', base, { entityId: sub, card });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const pm = created.body;
    assert.equal(typeof pm.id, 'string');
    assert.equal(pm.card.brand, 'visa');
    assert.deepEqual(pm.card.details, { bin: '42424242', last4: '4242', expirationMonth: '02', expirationYear: '2030' });
    assert.ok(!Number.isNaN(Date.parse(pm.createdAt)));
    assert.ok(!JSON.stringify(pm).includes('4242424242424242'));
    assert.ok(!('cvc' in pm.card) && !('cvc' in pm.card.details));

    const got = await api(token, 'GET', `${base}/${pm.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, pm);

    await api(token, 'POST', base, { entityId: sub, card: { number: '5555555555554444', expirationMonth: '11', expirationYear: '2031' } });
    const list = await api(token, 'GET', `${base}?limit=1&offset=0`);
    assert.equal(list.status, 200);
    assert.ok(Array.isArray(list.body));
    assert.equal(list.body.length, 1);
    assert.equal(list.body[0].id, pm.id);
    assert.equal(list.headers.get('x-total-count'), '2');
    assert.equal(list.headers.get('x-limit'), '1');
    assert.equal(list.headers.get('x-offset'), '0');
    assert.equal(list.headers.get('x-has-next'), 'true');
    assert.equal(list.headers.get('x-has-previous'), 'false');

    const del = await api(token, 'DELETE', `${base}/${pm.id}`);
    assert.equal(del.status, 204);
    assertSeedError(await api(token, 'GET', `${base}/${pm.id}`), 404, 'not_found');
  });

  it('lets a jose public token collect a payment method but not read it', async () => {
    const sub = `user-${randomUUID().slice(0, 8)}`;
    const pub = await joseToken(prj.privateKeyPem, { sub, iss: prj.projectId, kid: prj.kid });
    const base = `/projects/${prj.projectId}/payment-methods`;
    const created = await api(pub, 'POST', base, { entityId: sub, card });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assertSeedError(await api(pub, 'GET', `${base}/${created.body.id}`), 403, 'forbidden');
    assertSeedError(await api(pub, 'GET', base), 403, 'forbidden');

    const priv = await joseToken(prj.privateKeyPem, { sub, iss: prj.projectId, kid: prj.kid, roles: ['private'] });
    const got = await api(priv, 'GET', `${base}/${created.body.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.entityId, sub);
  });

  it('scopes every payment method to the token subject', async () => {
    const alice = `user-${randomUUID().slice(0, 8)}`;
    const bob = `user-${randomUUID().slice(0, 8)}`;
    const aliceToken = jsonwebtokenToken(prj.privateKeyPem, { sub: alice, iss: prj.projectId, kid: prj.kid });
    const bobToken = await joseToken(prj.privateKeyPem, { sub: bob, iss: prj.projectId, kid: prj.kid, roles: ['private'] });
    const base = `/projects/${prj.projectId}/payment-methods`;
    const pm = (await api(aliceToken, 'POST', base, { entityId: alice, card })).body;

    assertSeedError(await api(bobToken, 'GET', `${base}/${pm.id}`), 404, 'not_found');
    assertSeedError(await api(bobToken, 'DELETE', `${base}/${pm.id}`), 404, 'not_found');
    const bobList = await api(bobToken, 'GET', base);
    assert.deepEqual(bobList.body, []);
    assert.equal(bobList.headers.get('x-total-count'), '0');
    // entityId must equal sub.
    const msg = assertSeedError(await api(bobToken, 'POST', base, { entityId: alice, card }), 401, 'unauthorized');
    assert.match(msg, /entityId/);
  });
});

describe('seed 000: the validation list rejects', () => {
  let prj;
  let other;
  before(async () => {
    prj = await provision();
    other = await provision();
  });
  const path = () => `/projects/${prj.projectId}/payment-methods`;

  it('requests without a token', async () => {
    assertSeedError(await api(undefined, 'GET', path()), 401, 'unauthorized');
  });

  it('alg none (an unsecured JWT)', async () => {
    const none = new UnsecuredJWT({ sub: 'u', iss: prj.projectId, roles: ['private'] }).setIssuedAt().setExpirationTime('1h').encode();
    assertSeedError(await api(none, 'GET', path()), 401, 'unauthorized');
  });

  it('HS256 signed with the project public key as the HMAC secret (key confusion)', async () => {
    const forged = await new SignJWT({ sub: 'u', iss: prj.projectId, roles: ['private'] })
      .setProtectedHeader({ alg: 'HS256', kid: prj.kid })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(prj.publicKeyPem));
    const msg = assertSeedError(await api(forged, 'GET', path()), 401, 'unauthorized');
    assert.match(msg, /RS256/);
  });

  it('a tampered payload', async () => {
    const token = jsonwebtokenToken(prj.privateKeyPem, { sub: 'u1', iss: prj.projectId, kid: prj.kid });
    const [h, , s] = token.split('.');
    const p = Buffer.from(JSON.stringify({ sub: 'u2', iss: prj.projectId, roles: ['private'], iat: 1, exp: 4102444800 })).toString('base64url');
    assert.match(assertSeedError(await api(`${h}.${p}.${s}`, 'GET', path()), 401, 'unauthorized'), /signature/);
  });

  it('an HMAC-signed tampering of a valid token', async () => {
    const token = jsonwebtokenToken(prj.privateKeyPem, { sub: 'u1', iss: prj.projectId, kid: prj.kid });
    const [, p] = token.split('.');
    const h = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: prj.kid })).toString('base64url');
    const sig = createHmac('sha256', prj.publicKeyPem).update(`${h}.${p}`).digest('base64url');
    assertSeedError(await api(`${h}.${p}.${sig}`, 'GET', path()), 401, 'unauthorized');
  });

  it('an expired token', async () => {
    const token = jwt.sign({ sub: 'u', iss: prj.projectId, roles: ['private'], iat: Math.floor(Date.now() / 1000) - 7200 }, prj.privateKeyPem, {
      algorithm: 'RS256',
      keyid: prj.kid,
      expiresIn: '1h',
    });
    assert.match(assertSeedError(await api(token, 'GET', path()), 401, 'unauthorized'), /exp/);
  });

  it('a token issued in the future', async () => {
    const token = jwt.sign({ sub: 'u', iss: prj.projectId, roles: ['private'], iat: Math.floor(Date.now() / 1000) + 3600 }, prj.privateKeyPem, {
      algorithm: 'RS256',
      keyid: prj.kid,
      expiresIn: '2h',
    });
    assert.match(assertSeedError(await api(token, 'GET', path()), 401, 'unauthorized'), /iat/);
  });

  it('a wrong iss, and another project’s token', async () => {
    const wrongIss = jsonwebtokenToken(prj.privateKeyPem, { sub: 'u', iss: other.projectId, kid: prj.kid });
    assert.match(assertSeedError(await api(wrongIss, 'GET', path()), 401, 'unauthorized'), /iss/);
    const otherToken = await joseToken(other.privateKeyPem, { sub: 'u', iss: other.projectId, kid: other.kid, roles: ['private'] });
    assertSeedError(await api(otherToken, 'GET', path()), 401, 'unauthorized');
    const ok = await api(otherToken, 'GET', `/projects/${other.projectId}/payment-methods`);
    assert.equal(ok.status, 200);
  });

  it('an unknown kid', async () => {
    const token = jsonwebtokenToken(prj.privateKeyPem, { sub: 'u', iss: prj.projectId, kid: 'no-such-kid' });
    assert.match(assertSeedError(await api(token, 'GET', path()), 401, 'unauthorized'), /kid/);
  });

  it('missing sub and missing roles', async () => {
    const noSub = jwt.sign({ iss: prj.projectId, roles: ['private'] }, prj.privateKeyPem, { algorithm: 'RS256', keyid: prj.kid, expiresIn: '1h' });
    assert.match(assertSeedError(await api(noSub, 'GET', path()), 401, 'unauthorized'), /sub/);
    const noRoles = jwt.sign({ sub: 'u', iss: prj.projectId }, prj.privateKeyPem, { algorithm: 'RS256', keyid: prj.kid, expiresIn: '1h' });
    assert.match(assertSeedError(await api(noRoles, 'GET', path()), 401, 'unauthorized'), /roles/);
  });
});

describe('seed 000: key rotation', () => {
  it('accepts several kids and rejects a removed one at once', async () => {
    const prj = await provision();
    const second = await mgmt('POST', `/projects/${prj.projectId}/keys`, { kid: 'rotated', generate: true });
    assert.equal(second.status, 201);
    const oldToken = jsonwebtokenToken(prj.privateKeyPem, { sub: 'u', iss: prj.projectId, kid: prj.kid });
    const newToken = await joseToken(second.body[0].private_key, { sub: 'u', iss: prj.projectId, kid: 'rotated', roles: ['private'] });
    const path = `/projects/${prj.projectId}/payment-methods`;
    assert.equal((await api(oldToken, 'GET', path)).status, 200);
    assert.equal((await api(newToken, 'GET', path)).status, 200);

    const removed = await mgmt('DELETE', `/projects/${prj.projectId}/keys/${prj.kid}`);
    assert.equal(removed.status, 204);
    assertSeedError(await api(oldToken, 'GET', path), 401, 'unauthorized');
    assert.equal((await api(newToken, 'GET', path)).status, 200);
  });
});
