// Sessions (wire contract §4.1) through node-sdk 5.7.0 `sessions`: a public
// key creates {sessionKey, nonce, expiresAt} (3 minutes); a private key
// authorizes the nonce once with permissions or rules it holds; the session
// key does exactly what was granted and nothing before that.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { NodeBT, assertFieldError, cleanupApps, failOnSchemaMismatch, nodeClient, nodeRejects } from './lib/helpers.mjs';
import { makeApp } from './lib/tokens.mjs';

failOnSchemaMismatch();

const created = [];
let pub;
let priv;
let tokA;
let tokB;
before(async () => {
  pub = await makeApp(created, { type: 'public', permissions: ['token:create'], label: 'session public' });
  priv = await makeApp(created, { type: 'private', permissions: ['token:create', 'token:read'], label: 'session private' });
  const bt = nodeClient(priv.key);
  tokA = await bt.tokens.create({ type: 'token', data: 'session secret A' });
  tokB = await bt.tokens.create({ type: 'token', data: 'session secret B' });
});
after(() => cleanupApps(created));

describe('node-sdk 5.7.0 sessions', () => {
  it('create, refused until authorized, then exactly the grant', async () => {
    const before = Date.now();
    const s = await nodeClient(pub.key).sessions.create();
    assert.match(s.sessionKey, /^key_/);
    assert.equal(typeof s.nonce, 'string');
    assert.ok(s.nonce.length >= 16);
    assert.ok(s.expiresAt instanceof Date);
    const life = s.expiresAt.getTime() - before;
    assert.ok(life > 150_000 && life <= 185_000, `session life ${life} ms, want about 3 minutes`);

    const sess = nodeClient(s.sessionKey);
    await nodeRejects(sess.tokens.get(tokA.id), NodeBT.ForbiddenError, 403);

    assert.equal(await nodeClient(priv.key).sessions.authorize({ nonce: s.nonce, permissions: ['token:read'] }), undefined);
    const got = await sess.tokens.get(tokA.id);
    assert.equal(got.data, 'session secret A');
    await nodeRejects(sess.tokens.create({ type: 'token', data: 'x' }), NodeBT.ForbiddenError, 403);
    await assert.rejects(sess.applications.getByKey(), (e) => e.statusCode === 403);

    // The nonce works once.
    const err = await nodeRejects(
      nodeClient(priv.key).sessions.authorize({ nonce: s.nonce, permissions: ['token:read'] }),
      NodeBT.BadRequestError,
      400,
    );
    assertFieldError(err.body, 'nonce');
  });

  it('rules with conditions narrow the session to one token', async () => {
    const s = await nodeClient(pub.key).sessions.create();
    await nodeClient(priv.key).sessions.authorize({
      nonce: s.nonce,
      rules: [{ description: 'one token', priority: 1, transform: 'reveal', permissions: ['token:read'],
        conditions: [{ attribute: 'id', operator: 'equals', value: tokA.id }] }],
    });
    const sess = nodeClient(s.sessionKey);
    assert.equal((await sess.tokens.get(tokA.id)).data, 'session secret A');
    await nodeRejects(sess.tokens.get(tokB.id), NodeBT.ForbiddenError, 403);
  });

  it('a public key may not authorize; no grant is a 400; no escalation', async () => {
    const s = await nodeClient(pub.key).sessions.create();
    await nodeRejects(nodeClient(pub.key).sessions.authorize({ nonce: s.nonce, permissions: ['token:read'] }), NodeBT.ForbiddenError, 403);
    const err = await nodeRejects(nodeClient(priv.key).sessions.authorize({ nonce: s.nonce }), NodeBT.BadRequestError, 400);
    assertFieldError(err.body, 'permissions');
    await nodeRejects(nodeClient(priv.key).sessions.authorize({ nonce: s.nonce, permissions: ['token:delete'] }), NodeBT.ForbiddenError, 403);
    // Only a public key creates sessions.
    await nodeRejects(nodeClient(priv.key).sessions.create(), NodeBT.ForbiddenError, 403);
    // None of the refusals used the nonce up.
    await nodeClient(priv.key).sessions.authorize({ nonce: s.nonce, permissions: ['token:read'] });
    assert.equal((await nodeClient(s.sessionKey).tokens.get(tokB.id)).data, 'session secret B');
  });

  it('expires_at ends the session', async () => {
    const s = await nodeClient(pub.key).sessions.create();
    const end = new Date(Date.now() + 1500).toISOString();
    await nodeClient(priv.key).sessions.authorize({ nonce: s.nonce, permissions: ['token:read'], expiresAt: end });
    const sess = nodeClient(s.sessionKey);
    assert.equal((await sess.tokens.get(tokA.id)).id, tokA.id);
    await new Promise((r) => setTimeout(r, 2000));
    await nodeRejects(sess.tokens.get(tokA.id), NodeBT.UnauthorizedError, 401);
  });
});
