// Token search (wire contract §3.2 "Search v1", §4.2, §7.4, §7.5, §11):
// basis-theory-js 1.22.2 `tokens.search({query, page, size})` on
// POST /tokens/search (Lucene-like: data, type, metadata.<key>, AND/OR/NOT;
// data terms need plaintext-level read, SSNs indexed with and without dashes
// and by last 4), and node-sdk 5.7.0 `tokens.searchV2` on
// POST /v2/tokens/search (a single term, optionally ANDed with container;
// cursor paging).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  NodeBT,
  assertFieldError,
  cleanupApps,
  failOnSchemaMismatch,
  jsClient,
  jsRejects,
  nodeClient,
  nodeRejects,
  sorted,
} from './lib/helpers.mjs';
import { CLASSES, CURRENT_ALL, V1_ALL, assertJsFieldError, makeApp, randomCardNumber, randomSsn, tag } from './lib/tokens.mjs';

failOnSchemaMismatch();

const created = [];
let searcher; // read:high everywhere
let lowReader; // read:low everywhere
let priv; // private, every current token permission
const run = tag('search');
const ssnDashed = randomSsn();
const ssnPlain = randomSsn().replaceAll('-', '');
const t = {};

before(async () => {
  const writer = await makeApp(created, { permissions: V1_ALL, label: 'search writer' });
  searcher = await makeApp(created, { permissions: CLASSES.map((c) => `token:${c}:read:high`), label: 'search high' });
  lowReader = await makeApp(created, { permissions: CLASSES.map((c) => `token:${c}:read:low`), label: 'search low' });
  priv = await makeApp(created, { type: 'private', permissions: CURRENT_ALL, label: 'search private' });
  const bt = nodeClient(writer.key);
  t.ssnA = await bt.tokens.create({ type: 'social_security_number', data: ssnDashed, metadata: { run, kind: 'ssn' } });
  t.ssnB = await bt.tokens.create({ type: 'social_security_number', data: ssnPlain, metadata: { run, kind: 'ssn' } });
  t.other1 = await bt.tokens.create({ type: 'token', data: 'other one', metadata: { run, kind: 'Other' } });
  t.other2 = await bt.tokens.create({ type: 'token', data: ssnPlain, metadata: { run, kind: 'other' } });
  t.card = await bt.tokens.create({ type: 'card_number', data: randomCardNumber(), metadata: { run, kind: 'card' } });
});
after(() => cleanupApps(created));

const ids = (list) => sorted(list.map((x) => x.id));

describe('basis-theory-js 1.22.2 tokens.search (v1)', () => {
  it('data: matches an SSN with dashes, without dashes and by last 4, in plaintext', async () => {
    const bt = await jsClient(searcher.key);
    const digits = ssnDashed.replaceAll('-', '');
    for (const q of [`data:"${ssnDashed}"`, `data:${digits}`]) {
      const res = await bt.tokens.search({ query: q });
      assert.deepEqual(ids(res.data), [t.ssnA.id], q);
      assert.equal(res.pagination.totalItems, 1);
      assert.equal(res.data[0].data, ssnDashed);
      assert.equal(res.data[0].type, 'social_security_number');
    }
    const last4 = await bt.tokens.search({ query: `data:${digits.slice(-4)} AND metadata.run:"${run}"` });
    assert.deepEqual(ids(last4.data), [t.ssnA.id]);
    // A `token` holding the same digits is not indexed (only SSN/EIN are).
    const plain = await bt.tokens.search({ query: `data:${ssnPlain}` });
    assert.deepEqual(ids(plain.data), [t.ssnB.id]);
  });

  it('data: finds nothing for a reader below plaintext level', async () => {
    const bt = await jsClient(lowReader.key);
    const res = await bt.tokens.search({ query: `data:"${ssnDashed}"` });
    assert.deepEqual(res.data, []);
    assert.equal(res.pagination.totalItems, 0);
    // metadata search needs only read, and the data comes masked.
    const md = await bt.tokens.search({ query: `metadata.run:"${run}" AND metadata.kind:ssn` });
    assert.deepEqual(ids(md.data), sorted([t.ssnA.id, t.ssnB.id]));
    const byId = Object.fromEntries(md.data.map((x) => [x.id, x.data]));
    assert.equal(byId[t.ssnA.id], `XXX-XX-${ssnDashed.slice(-4)}`);
    assert.equal(byId[t.ssnB.id], `XXXXX${ssnPlain.slice(-4)}`);
  });

  it('metadata.<key>, type, AND/OR/NOT and parentheses', async () => {
    const bt = await jsClient(searcher.key);
    const all = await bt.tokens.search({ query: `metadata.run:"${run}"` });
    assert.deepEqual(ids(all.data), ids(Object.values(t)));
    const upper = await bt.tokens.search({ query: `metadata.run:"${run.toUpperCase()}"` });
    assert.equal(upper.pagination.totalItems, 5, 'v1 metadata values match case-insensitively');
    const ssns = await bt.tokens.search({ query: `type:social_security_number AND metadata.run:"${run}"` });
    assert.deepEqual(ids(ssns.data), sorted([t.ssnA.id, t.ssnB.id]));
    const others = await bt.tokens.search({ query: `metadata.run:"${run}" AND metadata.kind:other` });
    assert.deepEqual(ids(others.data), sorted([t.other1.id, t.other2.id]));
    const either = await bt.tokens.search({ query: `metadata.run:"${run}" AND (type:card_number OR metadata.kind:ssn)` });
    assert.deepEqual(ids(either.data), sorted([t.ssnA.id, t.ssnB.id, t.card.id]));
    const not = await bt.tokens.search({ query: `metadata.run:"${run}" AND NOT type:token` });
    assert.deepEqual(ids(not.data), sorted([t.ssnA.id, t.ssnB.id, t.card.id]));
    const cardItem = either.data.find((x) => x.id === t.card.id);
    assert.equal(cardItem.metadata.kind, 'card');
  });

  it('pages with page/size', async () => {
    const bt = await jsClient(searcher.key);
    const p1 = await bt.tokens.search({ query: `metadata.run:"${run}"`, page: 1, size: 2 });
    const p3 = await bt.tokens.search({ query: `metadata.run:"${run}"`, page: 3, size: 2 });
    assert.deepEqual(p1.pagination, { totalItems: 5, pageNumber: 1, pageSize: 2, totalPages: 3 });
    assert.deepEqual(p3.pagination, { totalItems: 5, pageNumber: 3, pageSize: 2, totalPages: 3 });
    assert.equal(p1.data.length, 2);
    assert.equal(p3.data.length, 1);
  });

  it('401, 403 and 400', async () => {
    await jsRejects((await jsClient('key_bogus0000000000000')).tokens.search({ query: 'type:token' }), 401);
    const createOnly = await makeApp(created, { permissions: ['token:pii:create'], label: 'search create only' });
    await jsRejects((await jsClient(createOnly.key)).tokens.search({ query: `metadata.run:"${run}"` }), 403);
    const bt = await jsClient(searcher.key);
    assertJsFieldError((await jsRejects(bt.tokens.search({ query: 'metadata.run:(' }), 400)).data, 'query');
    assertJsFieldError((await jsRejects(bt.tokens.search({ query: 'type:token AND' }), 400)).data, 'query');
  });
});

describe('node-sdk 5.7.0 tokens.searchV2', () => {
  it('a single data term matches the search indexes', async () => {
    const bt = nodeClient(priv.key);
    const page = await bt.tokens.searchV2({ query: `data:"${ssnDashed}"` });
    assert.deepEqual(page.data.map((x) => x.id), [t.ssnA.id]);
    assert.equal(page.data[0].data, ssnDashed);
    assert.ok(page.data[0].createdAt instanceof Date);
    const digits = await bt.tokens.searchV2({ query: `data:${ssnDashed.replaceAll('-', '')}` });
    assert.deepEqual(digits.data.map((x) => x.id), [t.ssnA.id]);
  });

  it('metadata, fingerprint, type and container terms; cursor paging', async () => {
    const bt = nodeClient(priv.key);
    const page = await bt.tokens.searchV2({ query: `metadata.run:"${run}"`, size: 2 });
    assert.equal(page.data.length, 2);
    assert.equal(page.response.pagination.pageSize, 2);
    assert.ok(page.response.pagination.next, 'a full page has a next cursor');
    const seen = [];
    for await (const x of page) seen.push(x.id);
    assert.deepEqual(sorted(seen), ids(Object.values(t)));
    assert.equal(new Set(seen).size, 5, 'no token is repeated across pages');

    const manual = await bt.tokens.searchV2({ query: `metadata.run:"${run}"`, size: 4 });
    const rest = await bt.tokens.searchV2({ query: `metadata.run:"${run}"`, size: 4, start: manual.response.pagination.next });
    assert.equal(rest.data.length, 1);
    assert.deepEqual(sorted([...manual.data, ...rest.data].map((x) => x.id)), ids(Object.values(t)));

    const upper = await bt.tokens.searchV2({ query: `metadata.run:"${run.toUpperCase()}"` });
    assert.deepEqual(upper.data, [], 'v2 metadata matching is case-sensitive');

    const fp = await bt.tokens.searchV2({ query: `fingerprint:${t.card.fingerprint}` });
    assert.deepEqual(fp.data.map((x) => x.id), [t.card.id]);

    const typed = await bt.tokens.searchV2({ query: 'type:social_security_number', size: 5 });
    assert.ok(typed.data.length > 0);
    for (const x of typed.data) assert.equal(x.type, 'social_security_number');

    const contained = await bt.tokens.searchV2({ query: `container:"/pii/high/" AND metadata.run:"${run}"` });
    assert.deepEqual(ids(contained.data), sorted([t.ssnA.id, t.ssnB.id]));
  });

  it('a complex query is a 400', async () => {
    const bt = nodeClient(priv.key);
    for (const q of [
      `metadata.run:"${run}" AND type:token`,
      `metadata.kind:ssn OR metadata.kind:card`,
      `NOT type:token`,
      `type:token AND type:card_number AND metadata.run:"${run}"`,
    ]) {
      const err = await nodeRejects(bt.tokens.searchV2({ query: q }), NodeBT.BadRequestError, 400);
      assertFieldError(err.body, 'query');
    }
  });

  it('401, and 403 without token:search', async () => {
    await nodeRejects(nodeClient('key_bogus0000000000000').tokens.searchV2({ query: 'type:token' }), NodeBT.UnauthorizedError, 401);
    const readOnly = await makeApp(created, { type: 'private', permissions: ['token:read'], label: 'search read only' });
    await nodeRejects(nodeClient(readOnly.key).tokens.searchV2({ query: `metadata.run:"${run}"` }), NodeBT.ForbiddenError, 403);
  });
});
