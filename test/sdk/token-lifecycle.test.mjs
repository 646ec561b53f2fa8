// Fingerprints and deduplication (seed 001 "Token Types" Fingerprinted;
// wire contract §4.2 Deduplication, §7.2), child tokens and associations
// (seed 001 "Token Associations"; basis-theory-js 1.22.2 createChild /
// listChildren / createAssociation / deleteAssociation), and expires_at
// (§4.2 Expiration: unreadable at once after expiry).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  NodeBT,
  UUID_RE,
  assertFieldError,
  cleanupApps,
  failOnSchemaMismatch,
  jsClient,
  jsRejects,
  nodeClient,
  nodeRejects,
  sorted,
} from './lib/helpers.mjs';
import { CURRENT_ALL, V1_ALL, assertJsFieldError, makeApp, randomCardNumber, randomSsn, sleep, tag } from './lib/tokens.mjs';

failOnSchemaMismatch();

const created = [];
const MISSING = '3f1b7c4e-0000-4000-8000-00000000beef';
let writer;
let priv;

before(async () => {
  writer = await makeApp(created, { permissions: V1_ALL, label: 'lifecycle writer' });
  priv = await makeApp(created, { type: 'private', permissions: CURRENT_ALL, label: 'lifecycle private' });
});
after(() => cleanupApps(created));

describe('fingerprints', () => {
  it('the same card number gives the same fingerprint, another number another one', async () => {
    const js = await jsClient(writer.key);
    const node = nodeClient(writer.key);
    const number = randomCardNumber();
    const a = await js.tokens.create({ type: 'card_number', data: number });
    const b = await node.tokens.create({ type: 'card_number', data: number, metadata: { second: 'yes' } });
    const c = await node.tokens.create({ type: 'card_number', data: randomCardNumber() });
    assert.notEqual(a.id, b.id, 'without deduplication every create is a new token');
    assert.equal(a.fingerprint, b.fingerprint);
    assert.notEqual(a.fingerprint, c.fingerprint);
    // The card object's fingerprint is over its number (expiry and cvc aside).
    const card1 = await node.tokens.create({ type: 'card', data: { number, expiration_month: 1, expiration_year: 2031, cvc: '111' } });
    const card2 = await node.tokens.create({ type: 'card', data: { number, expiration_month: 9, expiration_year: 2033 } });
    assert.equal(card1.fingerprint, card2.fingerprint);
    // Reading gives the same fingerprint.
    assert.equal((await js.tokens.retrieve(a.id)).fingerprint, a.fingerprint);
  });

  it('SSNs with and without dashes share a fingerprint; banks by account and routing number', async () => {
    const node = nodeClient(writer.key);
    const ssn = randomSsn();
    const dashed = await node.tokens.create({ type: 'social_security_number', data: ssn });
    const plain = await node.tokens.create({ type: 'social_security_number', data: ssn.replaceAll('-', '') });
    assert.equal(dashed.fingerprint, plain.fingerprint);
    const account = String(Date.now()).slice(-10);
    const bank1 = await node.tokens.create({ type: 'bank', data: { routing_number: '021000021', account_number: account } });
    const bank2 = await node.tokens.create({ type: 'bank', data: { routing_number: '021000021', account_number: account } });
    const bank3 = await node.tokens.create({ type: 'bank', data: { routing_number: '110000000', account_number: account } });
    assert.equal(bank1.fingerprint, bank2.fingerprint);
    assert.notEqual(bank1.fingerprint, bank3.fingerprint);
  });

  it('a `token` gets a fingerprint only from a fingerprint_expression', async () => {
    const node = nodeClient(priv.key);
    const value = tag('fp');
    const bare = await node.tokens.create({ type: 'token', data: value });
    assert.equal(bare.fingerprint, undefined);
    const x = await node.tokens.create({ type: 'token', data: { v: value, noise: 1 }, fingerprintExpression: '{{ data.v }}' });
    const y = await node.tokens.create({ type: 'token', data: { v: value, noise: 2 }, fingerprintExpression: '{{ data.v }}' });
    assert.equal(x.fingerprintExpression, '{{ data.v }}');
    assert.match(x.fingerprint, /^[1-9A-HJ-NP-Za-km-z]+$/);
    assert.equal(x.fingerprint, y.fingerprint);
  });
});

describe('deduplicate_token', () => {
  it('node-sdk: returns the existing token with extras.deduplicated', async () => {
    const bt = nodeClient(priv.key);
    const number = randomCardNumber();
    const first = await bt.tokens.create({ type: 'card_number', data: number, deduplicateToken: true, metadata: { n: '1' } });
    assert.notEqual(first.extras?.deduplicated, true);
    const again = await bt.tokens.create({ type: 'card_number', data: number, deduplicateToken: true, metadata: { n: '2' } });
    assert.equal(again.id, first.id);
    assert.equal(again.fingerprint, first.fingerprint);
    assert.equal(again.extras?.deduplicated, true);
    assert.deepEqual(again.metadata, { n: '1' }, 'the existing token, unchanged');
    assert.equal(again.data, number, 'a caller with read gets the existing token in full');
    // Without the flag a new token is created.
    const fresh = await bt.tokens.create({ type: 'card_number', data: number });
    assert.notEqual(fresh.id, first.id);
    assert.equal(fresh.fingerprint, first.fingerprint);
    // Deduplication is per type: a card with that number is a new token.
    const card = await bt.tokens.create({ type: 'card', data: { number }, deduplicateToken: true });
    assert.notEqual(card.id, first.id);
    assert.match(card.id, UUID_RE);
  });

  it('basis-theory-js: the same through deduplicateToken', async () => {
    const bt = await jsClient(priv.key);
    const ssn = randomSsn();
    const first = await bt.tokens.create({ type: 'social_security_number', data: ssn, deduplicateToken: true });
    const again = await bt.tokens.create({ type: 'social_security_number', data: ssn.replaceAll('-', ''), deduplicateToken: true });
    assert.equal(again.id, first.id);
    // camelcase-keys turns `_extras` into `extras`.
    assert.equal(again.extras?.deduplicated, true, JSON.stringify(again));
    const list = await bt.tokens.list({ id: [first.id] });
    assert.equal(list.pagination.totalItems, 1);
  });

  it('a caller without read on the existing token is not told it exists: it gets a token of its own', async () => {
    const number = randomCardNumber();
    const existing = await nodeClient(priv.key).tokens.create({ type: 'card_number', data: number });
    const creator = await makeApp(created, { type: 'private', permissions: ['token:create'], label: 'dedupe creator' });
    const again = await nodeClient(creator.key).tokens.create({ type: 'card_number', data: number, deduplicateToken: true });
    assert.notEqual(again.id, existing.id);
    assert.equal(again.type, 'card_number');
    assert.notEqual(again.extras?.deduplicated, true);
    assert.equal(again.data, undefined);
    // A reader is still deduplicated to the oldest token it may read.
    const reread = await nodeClient(priv.key).tokens.create({ type: 'card_number', data: number, deduplicateToken: true });
    assert.equal(reread.id, existing.id);
    assert.equal(reread.extras?.deduplicated, true);
  });
});

describe('children and associations (basis-theory-js 1.22.2)', () => {
  it('createChild, listChildren, createAssociation, deleteAssociation', async () => {
    const bt = await jsClient(writer.key);
    const parent = await bt.tokens.create({ type: 'token', data: 'parent' });
    const child = await bt.tokens.createChild(parent.id, { type: 'card_number', data: '4242424242424242', metadata: { role: 'child' } });
    assert.match(child.id, UUID_RE);
    assert.equal(child.type, 'card_number');
    assert.deepEqual(child.metadata, { role: 'child' });
    assert.deepEqual(child.privacy, { classification: 'pci', impactLevel: 'high', restrictionPolicy: 'mask' });
    assert.equal(child.createdBy, writer.id);

    const kids = await bt.tokens.listChildren(parent.id);
    assert.deepEqual(kids.data.map((x) => x.id), [child.id]);
    assert.equal(kids.data[0].data, '4242424242424242');
    assert.deepEqual(kids.pagination, { totalItems: 1, pageNumber: 1, pageSize: 20, totalPages: 1 });

    const other = await bt.tokens.create({ type: 'social_security_number', data: '123-45-6789' });
    assert.equal(await bt.tokens.createAssociation(parent.id, other.id), undefined);
    const two = await bt.tokens.listChildren(parent.id);
    assert.deepEqual(sorted(two.data.map((x) => x.id)), sorted([child.id, other.id]));
    assert.equal(two.pagination.totalItems, 2);
    const typed = await bt.tokens.listChildren(parent.id, { type: 'social_security_number' });
    assert.deepEqual(typed.data.map((x) => x.id), [other.id]);
    const byId = await bt.tokens.listChildren(parent.id, { id: [child.id] });
    assert.deepEqual(byId.data.map((x) => x.id), [child.id]);
    // A child is not a parent of its parent.
    assert.deepEqual((await bt.tokens.listChildren(child.id)).data, []);

    // Children are read with the caller's read level.
    const low = await makeApp(created, { permissions: ['token:general:read:high', 'token:pci:read:low', 'token:pii:read:low'], label: 'children low' });
    const masked = await (await jsClient(low.key)).tokens.listChildren(parent.id);
    const data = Object.fromEntries(masked.data.map((x) => [x.id, x.data]));
    assert.deepEqual(data, { [child.id]: 'XXXXXXXXXXXX4242', [other.id]: 'XXX-XX-6789' });

    assert.equal(await bt.tokens.deleteAssociation(parent.id, other.id), undefined);
    assert.deepEqual((await bt.tokens.listChildren(parent.id)).data.map((x) => x.id), [child.id]);
    assert.equal((await bt.tokens.retrieve(other.id)).data, '123-45-6789', 'dissociating keeps the token');
    await jsRejects(bt.tokens.deleteAssociation(parent.id, other.id), 404);

    // Deleting the child removes it from the list.
    await bt.tokens.delete(child.id);
    assert.deepEqual((await bt.tokens.listChildren(parent.id)).data, []);
  });

  it('404 for an unknown parent or child; 403 without read on the parent; 400 for an invalid child', async () => {
    const bt = await jsClient(writer.key);
    const parent = await bt.tokens.create({ type: 'token', data: 'p' });
    await jsRejects(bt.tokens.createChild(MISSING, { type: 'token', data: 'orphan' }), 404);
    await jsRejects(bt.tokens.listChildren(MISSING), 404);
    await jsRejects(bt.tokens.createAssociation(parent.id, MISSING), 404);
    await jsRejects(bt.tokens.createAssociation(MISSING, parent.id), 404);
    assertJsFieldError((await jsRejects(bt.tokens.createChild(parent.id, { type: 'card_number', data: '123' }), 400)).data, 'data');

    const createOnly = await makeApp(created, { permissions: ['token:general:create'], label: 'child create only' });
    const js = await jsClient(createOnly.key);
    await jsRejects(js.tokens.createChild(parent.id, { type: 'token', data: 'x' }), 403);
    await jsRejects(js.tokens.listChildren(parent.id), 403);
    assert.deepEqual((await bt.tokens.listChildren(parent.id)).data, []);
  });
});

describe('expires_at', () => {
  it('node-sdk: readable until expires_at, then 404 and gone from lists', async () => {
    const bt = nodeClient(priv.key);
    const run = tag('exp');
    const expiresAt = new Date(Date.now() + 2000);
    const tok = await bt.tokens.create({ type: 'token', data: 'short-lived', expiresAt: expiresAt.toISOString(), metadata: { run } });
    const keeper = await bt.tokens.create({ type: 'token', data: 'long-lived', metadata: { run } });
    assert.ok(tok.expiresAt instanceof Date);
    assert.equal(tok.expiresAt.getTime(), expiresAt.getTime());
    const got = await bt.tokens.get(tok.id);
    assert.equal(got.data, 'short-lived');
    assert.equal(got.expiresAt.getTime(), expiresAt.getTime());
    assert.deepEqual((await bt.tokens.listV2({ metadata: { run } })).data.map((x) => x.id), [keeper.id, tok.id]);

    await sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 300);
    await nodeRejects(bt.tokens.get(tok.id), NodeBT.NotFoundError, 404);
    assert.deepEqual((await bt.tokens.listV2({ metadata: { run } })).data.map((x) => x.id), [keeper.id]);
    const js = await jsClient(priv.key);
    await jsRejects(js.tokens.retrieve(tok.id), 404);
    assert.equal((await js.tokens.list({ metadata: { run } })).pagination.totalItems, 1);
    await nodeRejects(bt.tokens.detokenize({ x: `{{ ${tok.id} }}` }), NodeBT.BadRequestError, 400);
  });

  it('basis-theory-js: expiresAt is sent as expires_at; a past or malformed date is a 400', async () => {
    const bt = await jsClient(priv.key);
    const at = new Date(Date.now() + 3600_000).toISOString();
    const tok = await bt.tokens.create({ type: 'token', data: 'later', expiresAt: at });
    assert.equal(new Date(tok.expiresAt).getTime(), new Date(at).getTime());
    assertJsFieldError((await jsRejects(bt.tokens.create({ type: 'token', data: 'x', expiresAt: '2001-01-01T00:00:00Z' }), 400)).data, 'expires_at');
    const node = nodeClient(priv.key);
    assertFieldError(
      (await nodeRejects(node.tokens.create({ type: 'token', data: 'x', expiresAt: 'tomorrow' }), NodeBT.BadRequestError, 400)).body,
      'expires_at',
    );
  });
});
