// Tokens through both SDK generations (seed 001 "Token Types" and "Tokens";
// wire contract §3.2, §4.2, §6.3, §7): create for every token type with its
// default privacy, container and fingerprint; validation errors naming the
// field; metadata kept verbatim; get, delete, the deprecated /decrypt reads;
// 401/403/404/409; the v1 offset list with its filters; the v2 cursor list;
// merge-patch updates and 415.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  BasisTheoryError,
  ISO_RE,
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
import { CURRENT_ALL, TYPES, V1_ALL, api, assertJsFieldError, makeApp, privacyOf, randomCardNumber, tag, uniqueContainer } from './lib/tokens.mjs';

failOnSchemaMismatch();

const created = [];
const MISSING = '3f1b7c4e-0000-4000-8000-00000000abcd';
const FINGERPRINT_RE = /^[1-9A-HJ-NP-Za-km-z]{40,48}$/; // base58, §7.2

let writer; // server_to_server: create/read:high/update/delete on every classification
let priv; // private: every current token permission on the whole tenant
let tenantId;

before(async () => {
  writer = await makeApp(created, { permissions: V1_ALL, label: 'tokens writer' });
  priv = await makeApp(created, { type: 'private', permissions: CURRENT_ALL, label: 'tokens private' });
  tenantId = (await nodeClient().applications.getByKey()).tenantId;
});
after(() => cleanupApps(created));

// Invalid data for each type, and the field the 400 must name.
const INVALID = [
  ['card_number', '4242424242424241', 'data', 'fails the Luhn check'],
  ['card_number', '4242-4242-4242-4242', 'data', 'has separators'],
  ['card_number', '424242424242', 'data', 'is 12 digits'],
  ['card_number', '42424242424242424242', 'data', 'is 20 digits'],
  ['us_bank_account_number', '12', 'data', 'is 2 digits'],
  ['us_bank_account_number', '123456789012345678', 'data', 'is 18 digits'],
  ['us_bank_account_number', '12345abc', 'data', 'is not numeric'],
  ['us_bank_routing_number', '021000022', 'data', 'fails the ABA checksum'],
  ['us_bank_routing_number', '02100002', 'data', 'is 8 digits'],
  ['social_security_number', '12345678', 'data', 'is 8 digits'],
  ['social_security_number', '123-456-789', 'data', 'has misplaced dashes'],
  ['social_security_number', '123 45 6789', 'data', 'has spaces'],
  ['card', { number: '4242424242424241', expiration_month: 12, expiration_year: 2030 }, 'data.number', 'has a bad number'],
  ['card', { expiration_month: 12, expiration_year: 2030 }, 'data.number', 'has no number'],
  ['card', { number: '4242424242424242', expiration_month: 13, expiration_year: 2030 }, 'data.expiration_month', 'has month 13'],
  ['bank', { routing_number: '021000022', account_number: '1234567890' }, 'data.routing_number', 'has a bad routing number'],
  ['bank', { routing_number: '021000021' }, 'data.account_number', 'has no account number'],
];

describe('basis-theory-js 1.22.2 tokens', () => {
  for (const [type, t] of Object.entries(TYPES)) {
    it(`creates a ${type} token with the default privacy and container, and retrieves it`, async () => {
      const bt = await jsClient(writer.key);
      const metadata = { nonSensitiveField: 'Non-Sensitive Value', run: tag() };
      const tok = await bt.tokens.create({ type, data: t.data, metadata });
      assert.match(tok.id, UUID_RE);
      assert.equal(tok.type, type);
      assert.equal(tok.tenantId, tenantId);
      assert.deepEqual(tok.privacy, privacyOf(t.privacy));
      assert.deepEqual(tok.containers, [t.container]);
      assert.deepEqual(tok.metadata, metadata);
      assert.equal(tok.createdBy, writer.id);
      assert.match(tok.createdAt, ISO_RE);
      assert.equal(tok.data, undefined, 'a create response carries no data (seed 001 example)');
      if (type === 'token') assert.equal(tok.fingerprint, undefined, 'token is not fingerprinted (seed 001)');
      else assert.match(tok.fingerprint, FINGERPRINT_RE);

      // read:high on every classification: plaintext.
      const got = await bt.tokens.retrieve(tok.id);
      assert.equal(got.id, tok.id);
      assert.equal(got.type, type);
      assert.deepEqual(got.data, t.data);
      assert.deepEqual(got.privacy, privacyOf(t.privacy));
      assert.deepEqual(got.metadata, metadata);
      assert.equal(got.fingerprint, tok.fingerprint);
      assert.equal(got.createdAt, tok.createdAt);
      assert.equal(got.createdBy, writer.id);
    });
  }

  for (const [type, data, field, why] of INVALID) {
    it(`rejects ${type} data that ${why} (400 naming ${field})`, async () => {
      const bt = await jsClient(writer.key);
      const err = await jsRejects(bt.tokens.create({ type, data }), 400);
      assertJsFieldError(err.data, field);
    });
  }

  it('rejects a missing type, an unknown type and missing data', async () => {
    const bt = await jsClient(writer.key);
    assertFieldError((await jsRejects(bt.tokens.create({ data: 'x' }), 400)).data, 'type');
    assertFieldError((await jsRejects(bt.tokens.create({ type: 'zip', data: '12345' }), 400)).data, 'type');
    assertFieldError((await jsRejects(bt.tokens.create({ type: 'token' }), 400)).data, 'data');
    assertFieldError((await jsRejects(bt.tokens.create({ type: 'token', data: null }), 400)).data, 'data');
  });

  it('keeps data of every JSON shape and metadata byte-for-byte', async () => {
    const bt = await jsClient(writer.key);
    const metadata = {
      camelCase: 'Value',
      snake_case: 'MiXeD CaSe',
      UPPER_KEY: '  padded  ',
      'with space': 'a b',
      'ünï-cødé': '✓ ü 日本',
      empty: '',
    };
    const shapes = [
      'plain string',
      12345,
      3.25,
      true,
      ['a', 1, false, { nestedKey: 'v' }],
      { camelKey: 'x', snake_key: { deepKey: [1, 2, { inner_key: null }] }, 'sp ace': 'y' },
    ];
    for (const data of shapes) {
      const tok = await bt.tokens.create({ type: 'token', data, metadata });
      assert.deepEqual(tok.metadata, metadata);
      const got = await bt.tokens.retrieve(tok.id);
      assert.deepEqual(got.data, data, `data ${JSON.stringify(data)} came back changed`);
      assert.deepEqual(got.metadata, metadata);
    }
    // On the wire too: the keys are not re-cased by the server.
    const tok = await bt.tokens.create({ type: 'token', data: { camelKey: 1 }, metadata });
    const raw = await api('GET', `/tokens/${tok.id}`, { key: writer.key });
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.body.data, { camelKey: 1 });
    assert.deepEqual(raw.body.metadata, metadata);
  });

  it('object data keeps its member order on the wire (data is kept as sent)', async () => {
    const created1 = await api('POST', '/tokens', { key: writer.key, rawBody: '{"type":"token","data":{"zeta":1,"alpha":{"yank":2,"bravo":[3,"c"]}}}' });
    assert.equal(created1.status, 201, created1.text);
    const raw = await api('GET', `/tokens/${created1.body.id}`, { key: writer.key });
    assert.equal(raw.status, 200);
    assert.ok(raw.text.includes('"data":{"zeta":1,"alpha":{"yank":2,"bravo":[3,"c"]}}'), raw.text);
  });

  it('rejects metadata that is not a map of strings', async () => {
    const bt = await jsClient(writer.key);
    assertFieldError((await jsRejects(bt.tokens.create({ type: 'token', data: 'x', metadata: { n: 1 } }), 400)).data, 'metadata');
    assertFieldError((await jsRejects(bt.tokens.create({ type: 'token', data: 'x', metadata: { o: { p: 'q' } } }), 400)).data, 'metadata');
  });

  it('deletes a token: it is gone from retrieve and list, and a second delete is 404', async () => {
    const bt = await jsClient(writer.key);
    const run = tag('del');
    const tok = await bt.tokens.create({ type: 'token', data: 'to delete', metadata: { run } });
    assert.equal((await bt.tokens.retrieve(tok.id)).data, 'to delete');
    assert.equal(await bt.tokens.delete(tok.id), undefined);
    await jsRejects(bt.tokens.retrieve(tok.id), 404);
    const list = await bt.tokens.list({ metadata: { run } });
    assert.deepEqual(list.data, []);
    assert.equal(list.pagination.totalItems, 0);
    await jsRejects(bt.tokens.delete(tok.id), 404);
  });

  it('retrieveDecrypted and listDecrypted (deprecated) return plaintext at read:high', async () => {
    const bt = await jsClient(writer.key);
    const a = await bt.tokens.create({ type: 'card_number', data: '5555555555554444' });
    const b = await bt.tokens.create({ type: 'social_security_number', data: '123-45-6789' });
    const one = await bt.tokens.retrieveDecrypted(a.id);
    assert.equal(one.id, a.id);
    assert.equal(one.data, '5555555555554444');
    const list = await bt.tokens.listDecrypted({ id: [a.id, b.id] });
    assert.equal(list.pagination.totalItems, 2);
    const byId = Object.fromEntries(list.data.map((x) => [x.id, x.data]));
    assert.deepEqual(byId, { [a.id]: '5555555555554444', [b.id]: '123-45-6789' });
  });

  it('401 for a bad key, 403 without the permission, 404 for an unknown id', async () => {
    const bad = await jsClient('key_bogus0000000000000');
    await jsRejects(bad.tokens.create({ type: 'token', data: 'x' }), 401);
    await jsRejects(bad.tokens.retrieve(MISSING), 401);
    await jsRejects(bad.tokens.list(), 401);
    await jsRejects(bad.tokens.delete(MISSING), 401);

    const bt = await jsClient(writer.key);
    const general = await bt.tokens.create({ type: 'token', data: 'general data' });
    const pciOnly = await makeApp(created, { permissions: ['token:pci:create', 'token:pci:read:high', 'token:pci:delete'], label: 'pci only' });
    const js = await jsClient(pciOnly.key);
    await jsRejects(js.tokens.create({ type: 'token', data: 'x' }), 403);
    await jsRejects(js.tokens.retrieve(general.id), 403);
    await jsRejects(js.tokens.delete(general.id), 403);
    assert.equal((await bt.tokens.retrieve(general.id)).data, 'general data', 'the refused delete changed nothing');
    const createOnly = await jsClient((await makeApp(created, { permissions: ['token:general:create'], label: 'create only' })).key);
    await jsRejects(createOnly.tokens.list(), 403);
    await jsRejects(createOnly.tokens.retrieve(general.id), 403);

    await jsRejects(bt.tokens.retrieve(MISSING), 404);
    await jsRejects(bt.tokens.delete(MISSING), 404);
  });

  it('409 for a duplicate client-supplied id', async () => {
    const bt = await jsClient(priv.key);
    const id = `sdk-js-${tag()}`;
    const tok = await bt.tokens.create({ id, type: 'token', data: 'first' });
    assert.equal(tok.id, id);
    await jsRejects(bt.tokens.create({ id, type: 'token', data: 'second' }), 409);
    assert.equal((await bt.tokens.retrieve(id)).data, 'first');
  });

  it('lists with id, type and metadata filters (case-insensitive values) and page/size', async () => {
    const bt = await jsClient(writer.key);
    const run = tag('list');
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await bt.tokens.create({ type: 'token', data: `list ${i}`, metadata: { run, kind: 'Alpha', idx: String(i) } })).id);
    }
    const card = await bt.tokens.create({ type: 'card_number', data: '4242424242424242', metadata: { run, kind: 'Beta' } });

    const all = await bt.tokens.list({ metadata: { run } });
    assert.deepEqual(sorted(all.data.map((x) => x.id)), sorted([...ids, card.id]));
    assert.deepEqual(all.pagination, { totalItems: 4, pageNumber: 1, pageSize: 20, totalPages: 1 });
    // basis-theory-js ≤1.77.0 hands list items back raw (snake_case): only
    // the envelope is camel-cased (wire contract §1.2).
    for (const x of all.data) {
      assert.equal(x.tenant_id, tenantId);
      assert.equal(x.created_by, writer.id);
      assert.equal(x.metadata.run, run);
    }
    const cardItem = all.data.find((x) => x.id === card.id);
    assert.equal(cardItem.data, '4242424242424242');
    assert.deepEqual(cardItem.privacy, { classification: 'pci', impact_level: 'high', restriction_policy: 'mask' });

    // Metadata values match case-insensitively and filters AND together.
    const upper = await bt.tokens.list({ metadata: { run: run.toUpperCase() } });
    assert.equal(upper.pagination.totalItems, 4);
    const alpha = await bt.tokens.list({ metadata: { run, kind: 'ALPHA' } });
    assert.deepEqual(sorted(alpha.data.map((x) => x.id)), sorted(ids));
    const one = await bt.tokens.list({ metadata: { run, kind: 'alpha', idx: '1' } });
    assert.deepEqual(one.data.map((x) => x.id), [ids[1]]);
    const none = await bt.tokens.list({ metadata: { run, kind: 'gamma' } });
    assert.equal(none.pagination.totalItems, 0);
    assert.deepEqual(none.data, []);

    // type (repeatable) and id (repeatable).
    const cards = await bt.tokens.list({ metadata: { run }, type: 'card_number' });
    assert.deepEqual(cards.data.map((x) => x.id), [card.id]);
    const both = await bt.tokens.list({ metadata: { run }, type: ['token', 'card_number'] });
    assert.equal(both.pagination.totalItems, 4);
    const byId = await bt.tokens.list({ id: [ids[0], card.id] });
    assert.deepEqual(sorted(byId.data.map((x) => x.id)), sorted([ids[0], card.id]));
    assert.equal(byId.pagination.totalItems, 2);

    // page/size.
    const p1 = await bt.tokens.list({ metadata: { run }, page: 1, size: 3 });
    const p2 = await bt.tokens.list({ metadata: { run }, page: 2, size: 3 });
    assert.deepEqual(p1.pagination, { totalItems: 4, pageNumber: 1, pageSize: 3, totalPages: 2 });
    assert.deepEqual(p2.pagination, { totalItems: 4, pageNumber: 2, pageSize: 3, totalPages: 2 });
    assert.equal(p1.data.length, 3);
    assert.equal(p2.data.length, 1);
    assert.deepEqual(sorted([...p1.data, ...p2.data].map((x) => x.id)), sorted([...ids, card.id]));
  });
});

describe('node-sdk 5.7.0 tokens', () => {
  for (const [type, t] of Object.entries(TYPES)) {
    it(`creates a ${type} token and gets it`, async () => {
      const bt = nodeClient(writer.key);
      const metadata = { nonSensitiveField: 'Non-Sensitive Value', snake_key: 'v' };
      const tok = await bt.tokens.create({ type, data: t.data, metadata });
      assert.match(tok.id, UUID_RE);
      assert.equal(tok.type, type);
      assert.equal(tok.tenantId, tenantId);
      assert.deepEqual(tok.privacy, privacyOf(t.privacy));
      assert.deepEqual(tok.containers, [t.container]);
      assert.deepEqual(tok.metadata, metadata);
      assert.equal(tok.createdBy, writer.id);
      assert.ok(tok.createdAt instanceof Date && !Number.isNaN(tok.createdAt.getTime()));
      assert.equal(tok.data, undefined);
      if (t.mask) assert.deepEqual(tok.mask, t.mask, 'the create response carries the evaluated mask');
      if (type === 'token') assert.equal(tok.fingerprint, undefined);
      else assert.match(tok.fingerprint, FINGERPRINT_RE);

      const got = await bt.tokens.get(tok.id);
      assert.equal(got.id, tok.id);
      assert.deepEqual(got.data, t.data);
      assert.deepEqual(got.metadata, metadata);
      assert.equal(got.createdAt.getTime(), tok.createdAt.getTime());
      assert.equal(got.fingerprint, tok.fingerprint);
    });
  }

  it('rejects invalid data with a BadRequestError naming the field', async () => {
    const bt = nodeClient(writer.key);
    for (const [type, data, field] of INVALID) {
      const err = await nodeRejects(bt.tokens.create({ type, data }), NodeBT.BadRequestError, 400);
      assertFieldError(err.body, field);
    }
    assertFieldError((await nodeRejects(bt.tokens.create({ type: 'nope', data: 'x' }), NodeBT.BadRequestError, 400)).body, 'type');
  });

  it('deletes a token', async () => {
    const bt = nodeClient(priv.key);
    const tok = await bt.tokens.create({ type: 'token', data: 'bye' });
    assert.equal((await bt.tokens.get(tok.id)).data, 'bye');
    assert.equal(await bt.tokens.delete(tok.id), undefined);
    await nodeRejects(bt.tokens.get(tok.id), NodeBT.NotFoundError, 404);
    await nodeRejects(bt.tokens.delete(tok.id), NodeBT.NotFoundError, 404);
  });

  it('401, 403, 404 and 409', async () => {
    const bad = nodeClient('key_bogus0000000000000');
    await nodeRejects(bad.tokens.create({ type: 'token', data: 'x' }), NodeBT.UnauthorizedError, 401);
    await nodeRejects(bad.tokens.get(MISSING), NodeBT.UnauthorizedError, 401);
    await nodeRejects(bad.tokens.listV2(), NodeBT.UnauthorizedError, 401);

    const tok = await nodeClient(priv.key).tokens.create({ type: 'token', data: 'guarded' });
    const readOnly = nodeClient((await makeApp(created, { type: 'private', permissions: ['token:read'], label: 'read only' })).key);
    assert.equal((await readOnly.tokens.get(tok.id)).data, 'guarded');
    await nodeRejects(readOnly.tokens.create({ type: 'token', data: 'x' }), NodeBT.ForbiddenError, 403);
    await nodeRejects(readOnly.tokens.delete(tok.id), NodeBT.ForbiddenError, 403);
    await nodeRejects(readOnly.tokens.update(tok.id, { metadata: { a: 'b' } }), NodeBT.ForbiddenError, 403);
    const createOnly = nodeClient((await makeApp(created, { type: 'private', permissions: ['token:create'], label: 'create only' })).key);
    await nodeRejects(createOnly.tokens.get(tok.id), NodeBT.ForbiddenError, 403);
    await nodeRejects(createOnly.tokens.listV2(), NodeBT.ForbiddenError, 403);

    const bt = nodeClient(priv.key);
    await nodeRejects(bt.tokens.get(MISSING), NodeBT.NotFoundError, 404);
    await nodeRejects(bt.tokens.update(MISSING, { metadata: { a: 'b' } }), NodeBT.NotFoundError, 404);
    await nodeRejects(bt.tokens.delete(MISSING), NodeBT.NotFoundError, 404);

    const id = `sdk-node-${tag()}`;
    const first = await bt.tokens.create({ id, type: 'token', data: 'first' });
    assert.equal(first.id, id);
    await nodeRejects(bt.tokens.create({ id, type: 'token', data: 'second' }), NodeBT.ConflictError, 409);
    assert.equal((await bt.tokens.get(id)).data, 'first');
  });

  it('listV2 pages with the `next` cursor, newest first, and filters by metadata', async () => {
    const bt = nodeClient(priv.key);
    const run = tag('v2');
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await bt.tokens.create({ type: 'token', data: `v2 ${i}`, metadata: { run } })).id);

    const page = await bt.tokens.listV2({ metadata: { run }, size: 2 });
    assert.deepEqual(page.data.map((x) => x.id), [ids[2], ids[1]]);
    assert.equal(page.response.pagination.pageSize, 2);
    assert.equal(typeof page.response.pagination.next, 'string');
    assert.ok(page.response.pagination.next.length > 0);
    assert.equal(page.hasNextPage(), true);
    for (const x of page.data) {
      assert.equal(x.tenantId, tenantId);
      assert.ok(x.createdAt instanceof Date);
      assert.deepEqual(x.metadata, { run });
    }
    assert.deepEqual(page.data.map((x) => x.data), ['v2 2', 'v2 1']);
    const cursor = page.response.pagination.next;

    // getNextPage sends start=<next> (and replaces the page's state).
    const second = await page.getNextPage();
    assert.deepEqual(second.data.map((x) => x.id), [ids[0]]);
    assert.equal(second.hasNextPage(), false);

    // The cursor by hand, and the auto-pager.
    const manual = await bt.tokens.listV2({ metadata: { run }, size: 2, start: cursor });
    assert.deepEqual(manual.data.map((x) => x.id), [ids[0]]);
    const seen = [];
    for await (const x of await bt.tokens.listV2({ metadata: { run }, size: 1 })) seen.push(x.id);
    assert.deepEqual(seen, [ids[2], ids[1], ids[0]]);

    // v2 metadata matching is case-sensitive (wire contract §11).
    const upper = await bt.tokens.listV2({ metadata: { run: run.toUpperCase() } });
    assert.deepEqual(upper.data, []);
    // The documented `metadata.<key>=` form works as well.
    const dotted = await api('GET', `/v2/tokens?metadata.run=${encodeURIComponent(run)}`, { key: priv.key });
    assert.equal(dotted.status, 200);
    assert.deepEqual(dotted.body.data.map((x) => x.id), [ids[2], ids[1], ids[0]]);
    // A malformed cursor is a 400.
    await nodeRejects(bt.tokens.listV2({ start: 'not-a-cursor!' }), BasisTheoryError, 400);
  });

  it('listV2 filters by container, container and type, and fingerprint', async () => {
    const bt = nodeClient(priv.key);
    const container = uniqueContainer('v2list');
    const a = await bt.tokens.create({ type: 'token', data: 'in container a', containers: [container] });
    const b = await bt.tokens.create({ type: 'token', data: 'in container b', containers: [container] });
    const number = randomCardNumber();
    const c = await bt.tokens.create({ type: 'card_number', data: number, containers: [container] });
    assert.deepEqual(a.containers, [container]);
    assert.deepEqual(c.containers, [container]);

    const inContainer = await bt.tokens.listV2({ container });
    assert.deepEqual(inContainer.data.map((x) => x.id), [c.id, b.id, a.id]);
    const typed = await bt.tokens.listV2({ container, type: 'card_number' });
    assert.deepEqual(typed.data.map((x) => x.id), [c.id]);
    assert.equal(typed.data[0].data, number);
    const byFingerprint = await bt.tokens.listV2({ fingerprint: c.fingerprint });
    assert.deepEqual(byFingerprint.data.map((x) => x.id), [c.id]);
    const other = await bt.tokens.listV2({ container: uniqueContainer('empty') });
    assert.deepEqual(other.data, []);
    assert.equal(other.response.pagination.next ?? '', '');
  });

  it('update is an RFC 7386 merge patch of data and metadata', async () => {
    const bt = nodeClient(priv.key);
    const tok = await bt.tokens.create({
      type: 'token',
      data: { a: 1, nested: { keep: 'k', drop: 'd' }, list: [1, 2] },
      metadata: { k1: 'v1', k2: 'v2' },
    });
    const upd = await bt.tokens.update(tok.id, {
      data: { nested: { drop: null, added: true }, list: [3] },
      metadata: { k3: 'v3' },
    });
    assert.equal(upd.id, tok.id);
    assert.deepEqual(upd.data, { a: 1, nested: { keep: 'k', added: true }, list: [3] });
    assert.deepEqual(upd.metadata, { k1: 'v1', k2: 'v2', k3: 'v3' });
    assert.equal(upd.modifiedBy, priv.id);
    assert.ok(upd.modifiedAt instanceof Date && upd.modifiedAt.getTime() >= tok.createdAt.getTime());
    assert.equal(upd.createdAt.getTime(), tok.createdAt.getTime());

    // null deletes a metadata key.
    const del = await bt.tokens.update(tok.id, { metadata: { k1: null, k2: 'V2' } });
    assert.deepEqual(del.metadata, { k2: 'V2', k3: 'v3' });
    assert.deepEqual(del.data, { a: 1, nested: { keep: 'k', added: true }, list: [3] });
    const got = await bt.tokens.get(tok.id);
    assert.deepEqual(got.data, { a: 1, nested: { keep: 'k', added: true }, list: [3] });
    assert.deepEqual(got.metadata, { k2: 'V2', k3: 'v3' });

    // A primitive replaces the whole data.
    const replaced = await bt.tokens.update(tok.id, { data: 'now a string' });
    assert.equal(replaced.data, 'now a string');
    assert.deepEqual(replaced.metadata, { k2: 'V2', k3: 'v3' });
  });

  it('update re-validates data and recomputes the mask and fingerprint', async () => {
    const bt = nodeClient(priv.key);
    const first = randomCardNumber();
    const tok = await bt.tokens.create({ type: 'card_number', data: first });
    const err = await nodeRejects(bt.tokens.update(tok.id, { data: '4242424242424241' }), NodeBT.BadRequestError, 400);
    assertFieldError(err.body, 'data');
    assert.equal((await bt.tokens.get(tok.id)).data, first, 'a rejected update changes nothing');

    const upd = await bt.tokens.update(tok.id, { data: '36227206271667' });
    assert.equal(upd.data, '36227206271667');
    assert.notEqual(upd.fingerprint, tok.fingerprint);
    const fresh = await bt.tokens.create({ type: 'card_number', data: '36227206271667' });
    assert.equal(upd.fingerprint, fresh.fingerprint, 'the fingerprint follows the new data');
    const masker = nodeClient((await makeApp(created, { permissions: ['token:pci:read:low'], label: 'pci low' })).key);
    assert.equal((await masker.tokens.get(tok.id)).data, 'XXXXXXXXXX1667');
  });

  it('PATCH needs application/merge-patch+json: another content type is 415', async () => {
    const tok = await nodeClient(priv.key).tokens.create({ type: 'token', data: 'patch me', metadata: { a: '1' } });
    const bad = await api('PATCH', `/tokens/${tok.id}`, { key: priv.key, rawBody: '{"metadata":{"a":"2"}}', contentType: 'text/plain' });
    assert.equal(bad.status, 415);
    assert.equal(bad.body.status, 415);
    const xml = await api('PATCH', `/tokens/${tok.id}`, { key: priv.key, rawBody: '<a/>', contentType: 'application/xml' });
    assert.equal(xml.status, 415);
    assert.deepEqual((await nodeClient(priv.key).tokens.get(tok.id)).metadata, { a: '1' });
    const good = await api('PATCH', `/tokens/${tok.id}`, { key: priv.key, body: { metadata: { a: '2' } }, contentType: 'application/merge-patch+json' });
    assert.equal(good.status, 200);
    assert.deepEqual(good.body.metadata, { a: '2' });
  });

  it('sees tokens created through basis-theory-js, and vice versa', async () => {
    const js = await jsClient(priv.key);
    const node = nodeClient(priv.key);
    const a = await js.tokens.create({ type: 'social_security_number', data: '123456789', metadata: { from: 'js' } });
    const b = await node.tokens.create({ type: 'us_bank_account_number', data: '000123456789', metadata: { from: 'node' } });
    const fromNode = await node.tokens.get(a.id);
    assert.equal(fromNode.data, '123456789');
    assert.deepEqual(fromNode.metadata, { from: 'js' });
    assert.deepEqual(fromNode.privacy, privacyOf(['pii', 'high', 'mask']));
    const fromJs = await js.tokens.retrieve(b.id);
    assert.equal(fromJs.data, '000123456789');
    assert.deepEqual(fromJs.metadata, { from: 'node' });
    assert.equal(fromJs.createdBy, priv.id);
  });
});
