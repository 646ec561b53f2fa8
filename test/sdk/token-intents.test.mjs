// Token intents (wire contract §4.2) through node-sdk 5.7.0 `tokenIntents`:
// create (201, card details, 24 h expiry, never the data), get, delete, and
// `tokenIntentId` on tokens.create / tokenize, which converts the intent
// without its cvc and consumes it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { NodeBT, UUID_RE, assertFieldError, cleanupApps, failOnSchemaMismatch, nodeClient, nodeRejects } from './lib/helpers.mjs';
import { api, makeApp } from './lib/tokens.mjs';

failOnSchemaMismatch();

const CARD = { number: '4242424242424242', expiration_month: 12, expiration_year: 2031, cvc: '123' };
const created = [];
let pub;
let priv;
let tenantId;
before(async () => {
  pub = await makeApp(created, { type: 'public', permissions: ['token-intent:create'], label: 'intent public' });
  priv = await makeApp(created, {
    type: 'private',
    permissions: ['token-intent:create', 'token-intent:read', 'token-intent:delete', 'token:create', 'token:read'],
    label: 'intent private',
  });
  tenantId = (await nodeClient().applications.getByKey()).tenantId;
});
after(() => cleanupApps(created));

describe('node-sdk 5.7.0 tokenIntents', () => {
  it('create, get and delete; the data never comes back', async () => {
    const before = Date.now();
    const it1 = await nodeClient(pub.key).tokenIntents.create({ type: 'card', data: CARD });
    assert.match(it1.id, UUID_RE);
    assert.equal(it1.tenantId, tenantId);
    assert.equal(it1.type, 'card');
    assert.equal(it1.createdBy, pub.id);
    assert.ok(it1.createdAt instanceof Date);
    assert.equal(typeof it1.fingerprint, 'string');
    assert.deepEqual(
      { bin: it1.card.bin, last4: it1.card.last4, m: it1.card.expirationMonth, y: it1.card.expirationYear },
      { bin: '42424242', last4: '4242', m: 12, y: 2031 },
    );
    const life = it1.expiresAt.getTime() - before;
    assert.ok(life > 24 * 3600e3 - 60e3 && life <= 24 * 3600e3 + 5e3, `intent life ${life} ms, want 24 h`);

    const raw = await api('GET', `/token-intents/${it1.id}`, { key: priv.key });
    assert.equal(raw.status, 200);
    assert.equal(raw.body.data, undefined);
    assert.ok(!raw.text.includes(CARD.number) && !raw.text.includes('"123"'), raw.text);

    const got = await nodeClient(priv.key).tokenIntents.get(it1.id);
    assert.equal(got.id, it1.id);
    assert.equal(got.fingerprint, it1.fingerprint);
    await nodeRejects(nodeClient(pub.key).tokenIntents.get(it1.id), NodeBT.ForbiddenError, 403);
    assert.equal(await nodeClient(priv.key).tokenIntents.delete(it1.id), undefined);
    await nodeRejects(nodeClient(priv.key).tokenIntents.get(it1.id), NodeBT.NotFoundError, 404);
  });

  it('tokenIntentId converts the intent into a token without the cvc', async () => {
    const intent = await nodeClient(pub.key).tokenIntents.create({ type: 'card', data: CARD });
    const bt = nodeClient(priv.key);
    const tok = await bt.tokens.create({ tokenIntentId: intent.id, metadata: { from: 'intent' } });
    assert.equal(tok.type, 'card');
    assert.equal(tok.fingerprint, intent.fingerprint);
    const read = await bt.tokens.get(tok.id);
    assert.deepEqual(read.data, { number: CARD.number, expiration_month: 12, expiration_year: 2031 });
    assert.deepEqual(read.metadata, { from: 'intent' });
    await nodeRejects(bt.tokenIntents.get(intent.id), NodeBT.NotFoundError, 404);
    const again = await nodeRejects(bt.tokens.create({ tokenIntentId: intent.id }), NodeBT.BadRequestError, 400);
    assertFieldError(again.body, 'token_intent_id');
  });

  it('tokenize converts intents too, and validates like a token', async () => {
    const intent = await nodeClient(pub.key).tokenIntents.create({ type: 'card', data: CARD });
    const bt = nodeClient(priv.key);
    const out = await bt.tokens.tokenize({ card: { token_intent_id: intent.id } });
    assert.equal(out.card.type, 'card');
    await nodeRejects(bt.tokenIntents.get(intent.id), NodeBT.NotFoundError, 404);

    const bad = await nodeRejects(
      nodeClient(pub.key).tokenIntents.create({ type: 'card', data: { number: '4242424242424241' } }),
      NodeBT.BadRequestError,
      400,
    );
    assertFieldError(bad.body, 'data.number');
  });

  it('the permissions are listed and held by the bootstrap management application', async () => {
    const perms = (await nodeClient().permissions.list()).map((p) => p.type);
    for (const p of ['token-intent:create', 'token-intent:read', 'token-intent:delete']) assert.ok(perms.includes(p), p);
    const mgmt = await nodeClient().applications.getByKey();
    for (const p of ['token-intent:create', 'token-intent:read', 'token-intent:delete']) assert.ok(mgmt.permissions.includes(p), p);
  });
});
