// Client-side encryption keys through node-sdk 5.7.0 `keys` (POST /keys is
// sent as application/json-patch+json), and token data sent as a compact
// JWE {alg: ECDH-ES, enc: A256GCM, kid, epk: X25519} over
// JSON.stringify(data), made with jose as a browser would.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CompactEncrypt, importJWK } from 'jose';

import { NodeBT, UUID_RE, assertFieldError, cleanupApps, failOnSchemaMismatch, nodeClient, nodeRejects, uniqueName } from './lib/helpers.mjs';

failOnSchemaMismatch();

const apps = [];
after(() => cleanupApps(apps));

async function encrypt(key, data) {
  const raw = Buffer.from(key.publicKeyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, ''), 'base64');
  assert.equal(raw.length, 32, 'public_key_pem holds the raw 32-byte X25519 key');
  const pub = await importJWK({ kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, 'ECDH-ES');
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(data)))
    .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', kid: key.keyId })
    .encrypt(pub);
}

async function tokenApp() {
  const app = await nodeClient().applications.create({
    name: uniqueName('encrypted tokens'),
    type: 'private',
    rules: [{ description: 'all', priority: 1, container: '/', transform: 'reveal', permissions: ['token:create', 'token:read'] }],
  });
  apps.push(app.id);
  return nodeClient(app.key);
}

describe('node-sdk 5.7.0 keys and encrypted token data', () => {
  it('creates a key (PEM once), gets and lists it without the PEM, deletes it', async () => {
    const bt = nodeClient();
    const k = await bt.keys.create({});
    assert.match(k.keyId, UUID_RE);
    assert.match(k.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/]{43}=\n-----END PUBLIC KEY-----\n?$/);
    assert.ok(k.expiresAt instanceof Date && k.expiresAt > new Date());

    const got = await bt.keys.get(k.keyId);
    assert.equal(got.keyId, k.keyId);
    assert.equal(got.publicKeyPem, undefined);
    const list = await bt.keys.list();
    assert.ok(Array.isArray(list));
    assert.ok(list.some((x) => x.keyId === k.keyId && x.publicKeyPem === undefined));

    const at = new Date(Date.now() + 7 * 24 * 3600 * 1000);
    at.setMilliseconds(0);
    const k2 = await bt.keys.create({ expiresAt: at });
    assert.equal(k2.expiresAt.getTime(), at.getTime());

    await bt.keys.delete(k.keyId);
    await bt.keys.delete(k2.keyId);
    await nodeRejects(bt.keys.get(k.keyId), NodeBT.NotFoundError, 404);
  });

  it('creates a token from encrypted data, decrypted inside the vault', async () => {
    const key = await nodeClient().keys.create({});
    const tc = await tokenApp();
    const card = { number: '4242424242424242', expiration_month: 12, expiration_year: 2031, cvc: '123' };
    const tok = await tc.tokens.create({ type: 'card', encrypted: await encrypt(key, card) });
    assert.match(tok.id, UUID_RE);
    const read = await tc.tokens.get(tok.id);
    assert.deepEqual(read.data, card);

    const out = await tc.tokens.tokenize({ a: { type: 'token', encrypted: await encrypt(key, { secret: 'tokenized' }) } });
    assert.deepEqual((await tc.tokens.get(out.a.id)).data, { secret: 'tokenized' });
    await nodeClient().keys.delete(key.keyId);
  });

  it('refuses a tampered, foreign or deleted-key JWE with a 400 naming encrypted', async () => {
    const bt = nodeClient();
    const key = await bt.keys.create({});
    const other = await bt.keys.create({});
    const tc = await tokenApp();
    const good = await encrypt(key, { secret: 'x' });
    const parts = good.split('.');
    parts[3] = (parts[3][0] === 'A' ? 'B' : 'A') + parts[3].slice(1);
    const foreign = await encrypt({ ...other, keyId: key.keyId }, { secret: 'x' });
    for (const jwe of [parts.join('.'), foreign, 'not-a-jwe']) {
      const e = await nodeRejects(tc.tokens.create({ type: 'token', encrypted: jwe }), NodeBT.BadRequestError, 400);
      assertFieldError(e.body, 'encrypted');
    }
    await bt.keys.delete(key.keyId);
    const e = await nodeRejects(tc.tokens.create({ type: 'token', encrypted: good }), NodeBT.BadRequestError, 400);
    assertFieldError(e.body, 'encrypted');
    await bt.keys.delete(other.keyId);
  });
});
