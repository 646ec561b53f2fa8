// BT-IDEMPOTENCY-KEY (wire contract §1.6) through node-sdk 5.7.0's
// `idempotencyKey` request option: a repeat replays the first answer and
// writes nothing; a parallel burst of retries creates one token.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { NodeBT, cleanupApps, failOnSchemaMismatch, nodeClient, uniqueName } from './lib/helpers.mjs';
import { CURRENT_ALL, makeApp, tag } from './lib/tokens.mjs';

failOnSchemaMismatch();

const created = [];
let priv;
before(async () => {
  priv = await makeApp(created, { type: 'private', permissions: CURRENT_ALL, label: 'idempotency' });
});
after(() => cleanupApps(created));

async function countTagged(bt, t) {
  const page = await bt.tokens.listV2({ metadata: { tag: t } });
  return page.data.length;
}

describe('node-sdk 5.7.0 idempotencyKey', () => {
  it('tokens.create twice with one key creates one token', async () => {
    const bt = nodeClient(priv.key);
    const t = tag('idem');
    const idempotencyKey = randomUUID();
    const req = { type: 'token', data: { secret: 'value' }, metadata: { tag: t } };
    const first = await bt.tokens.create(req, { idempotencyKey });
    const again = await bt.tokens.create(req, { idempotencyKey });
    assert.deepEqual(again, first);
    assert.equal(await countTagged(bt, t), 1);
    // Without the key the same request creates a second token.
    await bt.tokens.create(req);
    assert.equal(await countTagged(bt, t), 2);
  });

  it('tokens.tokenize and applications.create replay too', async () => {
    const bt = nodeClient(priv.key);
    const idempotencyKey = randomUUID();
    const a = await bt.tokens.tokenize({ a: 'one', b: 'two' }, { idempotencyKey });
    const b = await bt.tokens.tokenize({ a: 'one', b: 'two' }, { idempotencyKey });
    assert.deepEqual(b, a);

    const mgmt = nodeClient();
    const appKey = randomUUID();
    const req = { name: uniqueName('idem app'), type: 'private', permissions: ['token:read'] };
    const app1 = await mgmt.applications.create(req, { idempotencyKey: appKey });
    created.push(app1.id);
    const app2 = await mgmt.applications.create(req, { idempotencyKey: appKey });
    assert.equal(app2.id, app1.id);
    assert.equal(app2.key, app1.key);
  });

  it('parallel retries with one key create exactly one token', async () => {
    const bt = nodeClient(priv.key);
    const t = tag('idem-par');
    const idempotencyKey = randomUUID();
    const req = { type: 'token', data: 'parallel', metadata: { tag: t } };
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => bt.tokens.create(req, { idempotencyKey })));
    const ids = new Set();
    for (const r of results) {
      if (r.status === 'fulfilled') ids.add(r.value.id);
      else assert.ok(r.reason instanceof NodeBT.ConflictError, `unexpected ${r.reason}`); // still in flight
    }
    assert.ok(ids.size <= 1, `several tokens: ${[...ids]}`);
    const settled = await bt.tokens.create(req, { idempotencyKey });
    if (ids.size === 1) assert.equal(settled.id, [...ids][0]);
    assert.equal(await countTagged(bt, t), 1);
  });

  it('a failed first request is not kept', async () => {
    const bt = nodeClient(priv.key);
    const idempotencyKey = randomUUID();
    await assert.rejects(bt.tokens.create({ type: 'card', data: { number: '1' } }, { idempotencyKey }), NodeBT.BadRequestError);
    const ok = await bt.tokens.create({ type: 'token', data: 'fine' }, { idempotencyKey });
    assert.equal(ok.type, 'token');
  });
  it('tokens.update replays the first answer to a repeat with another body, which changes nothing', async () => {
    const bt = nodeClient(priv.key);
    const tok = await bt.tokens.create({ type: 'token', data: 'to update', metadata: { v: '0' } });
    const idempotencyKey = randomUUID();
    const first = await bt.tokens.update(tok.id, { metadata: { v: '1' } }, { idempotencyKey });
    const again = await bt.tokens.update(tok.id, { metadata: { v: '2' } }, { idempotencyKey });
    assert.deepEqual(again, first);
    assert.deepEqual((await bt.tokens.get(tok.id)).metadata, { v: '1' });
  });

  it('a replay never shows more than the caller may read now: 409 once its permissions shrink', async () => {
    const app = await makeApp(created, { type: 'private', permissions: ['token:create', 'token:read'], label: 'idem shrink' });
    const bt = nodeClient(app.key);
    const idempotencyKey = randomUUID();
    const req = { type: 'token', data: 'readable once' };
    await bt.tokens.create(req, { idempotencyKey });
    await nodeClient().applications.update(app.id, { name: uniqueName('idem shrink'), permissions: ['token:create'] });
    await assert.rejects(bt.tokens.create(req, { idempotencyKey, maxRetries: 0 }), (e) => {
      assert.ok(e instanceof NodeBT.ConflictError, `want a 409, got ${e}`);
      assert.ok(!JSON.stringify(e.body ?? {}).includes('readable once'), 'the refusal carries the token data');
      return true;
    });
  });

  it('sessions.create and the one-time sessions.authorize replay with one key', async () => {
    const pub = await makeApp(created, { type: 'public', permissions: ['token:create'], label: 'idem session public' });
    const s1 = await nodeClient(pub.key).sessions.create({ idempotencyKey: 'sess-' + randomUUID() });
    const createKey = randomUUID();
    const a = await nodeClient(pub.key).sessions.create({ idempotencyKey: createKey });
    const b = await nodeClient(pub.key).sessions.create({ idempotencyKey: createKey });
    assert.equal(b.sessionKey, a.sessionKey);
    assert.notEqual(a.sessionKey, s1.sessionKey);
    // The nonce is one-time: only a replay lets a retry of authorize succeed.
    const authKey = randomUUID();
    const grant = { nonce: a.nonce, permissions: ['token:read'] };
    await nodeClient(priv.key).sessions.authorize(grant, { idempotencyKey: authKey });
    await nodeClient(priv.key).sessions.authorize(grant, { idempotencyKey: authKey });
    await assert.rejects(nodeClient(priv.key).sessions.authorize(grant, { maxRetries: 0 }));
  });
});
