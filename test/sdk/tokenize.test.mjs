// POST /tokenize (seed 001 "Tokenize", wire contract §3.3) through
// basis-theory-js 1.22.2 `bt.tokenize` (body sent and returned raw) and
// node-sdk 5.7.0 `tokens.tokenize`: primitives become token ids, objects
// with type and data become token objects (mask, no data), other objects
// and arrays keep their shape and order; one invalid entry fails the whole
// request and creates nothing. POST /detokenize (§4.2, §5.1) through
// node-sdk `tokens.detokenize`: `{{ id }}`, `| json:`, `{{ token: id }}`,
// text concatenation, unknown ids.

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
} from './lib/helpers.mjs';
import { CURRENT_ALL, V1_ALL, api, makeApp, tag } from './lib/tokens.mjs';

failOnSchemaMismatch();

const created = [];
let writer; // server_to_server, every classification
let priv; // private, every current permission
let tenantId;

before(async () => {
  writer = await makeApp(created, { permissions: V1_ALL, label: 'tokenize writer' });
  priv = await makeApp(created, { type: 'private', permissions: CURRENT_ALL, label: 'tokenize private' });
  tenantId = (await nodeClient().applications.getByKey()).tenantId;
});
after(() => cleanupApps(created));

const CARD = { number: '4242424242424242', expiration_month: 12, expiration_year: 2030, cvc: '123' };
const CARD_MASK = { number: 'XXXXXXXXXXXX4242', expiration_month: 12, expiration_year: 2030 };

// The seed's composite request.
const composite = () => ({
  first_name: 'John',
  last_name: 'Doe',
  primary_card: { type: 'card', data: { ...CARD } },
  sensitive_tags: ['preferred', { type: 'token', data: 'vip' }],
});

/** Asserts the wire shape of a token object inside a tokenize response. */
function assertTokenObject(t, type, creatorId) {
  assert.equal(typeof t, 'object');
  assert.match(t.id, UUID_RE);
  assert.equal(t.type, type);
  assert.equal(t.tenant_id, tenantId);
  assert.equal(t.created_by, creatorId);
  assert.equal(typeof t.created_at, 'string');
  assert.equal(t.data, undefined, 'tokenize never returns plaintext data');
}

/** Reads a token's data with the private (reveal everything) key. */
const read = async (id) => (await nodeClient(priv.key).tokens.get(id)).data;

/** Every token created since t0 (newest-first v2 list, whole tenant). */
async function tokensSince(t0) {
  const out = [];
  for await (const t of await nodeClient(priv.key).tokens.listV2({ size: 100 })) {
    if (t.createdAt.getTime() < t0 - 1000) break;
    out.push(t);
  }
  return out;
}

describe('basis-theory-js 1.22.2 tokenize', () => {
  it('tokenizes the seed composite request', async () => {
    const bt = await jsClient(writer.key);
    const res = await bt.tokenize(composite());
    assert.deepEqual(Object.keys(res), ['first_name', 'last_name', 'primary_card', 'sensitive_tags']);
    assert.match(res.first_name, UUID_RE);
    assert.match(res.last_name, UUID_RE);
    assert.notEqual(res.first_name, res.last_name);
    assertTokenObject(res.primary_card, 'card', writer.id);
    assert.deepEqual(res.primary_card.mask, CARD_MASK, 'the response is raw: mask keys stay snake_case');
    assert.match(res.primary_card.fingerprint, /^[1-9A-HJ-NP-Za-km-z]+$/);
    assert.ok(!JSON.stringify(res).includes('"cvc"'), 'no cvc anywhere in the response');
    assert.equal(res.sensitive_tags.length, 2);
    assert.match(res.sensitive_tags[0], UUID_RE);
    assertTokenObject(res.sensitive_tags[1], 'token', writer.id);

    assert.equal(await read(res.first_name), 'John');
    assert.equal(await read(res.last_name), 'Doe');
    assert.equal(await read(res.sensitive_tags[0]), 'preferred');
    assert.equal(await read(res.sensitive_tags[1].id), 'vip');
    assert.deepEqual(await read(res.primary_card.id), CARD);
    const primitive = await nodeClient(priv.key).tokens.get(res.first_name);
    assert.equal(primitive.type, 'token');
    assert.deepEqual(primitive.privacy, { classification: 'general', impactLevel: 'high', restrictionPolicy: 'redact' });
  });

  it('tokenizes the seed array request, keeping the order', async () => {
    const bt = await jsClient(writer.key);
    const res = await bt.tokenize([
      'John',
      'Doe',
      { type: 'card', data: { ...CARD }, metadata: { nonSensitiveField: 'Non-Sensitive Value' } },
      { type: 'token', data: 'Sensitive Value' },
    ]);
    assert.ok(Array.isArray(res));
    assert.equal(res.length, 4);
    assert.equal(await read(res[0]), 'John');
    assert.equal(await read(res[1]), 'Doe');
    assertTokenObject(res[2], 'card', writer.id);
    assert.deepEqual(res[2].mask, CARD_MASK);
    assert.deepEqual(res[2].metadata, { nonSensitiveField: 'Non-Sensitive Value' });
    assertTokenObject(res[3], 'token', writer.id);
    assert.equal(await read(res[3].id), 'Sensitive Value');
  });

  it('keeps JSON types of primitives, nulls and nesting', async () => {
    const bt = await jsClient(writer.key);
    const res = await bt.tokenize({ n: 42, f: 2.5, yes: true, no: false, nothing: null, deep: { er: { est: 'x' } }, list: [[1, 'two']] });
    assert.equal(await read(res.n), 42);
    assert.equal(await read(res.f), 2.5);
    assert.equal(await read(res.yes), true);
    assert.equal(await read(res.no), false);
    assert.equal(res.nothing, null);
    assert.equal(await read(res.deep.er.est), 'x');
    assert.equal(res.list.length, 1);
    assert.equal(await read(res.list[0][0]), 1);
    assert.equal(await read(res.list[0][1]), 'two');
  });

  it('keeps the order of object members as sent', async () => {
    const res = await (await jsClient(writer.key)).tokenize({ zulu: 'z', alpha: 'a', mike: { type: 'token', data: 'm' }, bravo: ['b'] });
    assert.deepEqual(Object.keys(res), ['zulu', 'alpha', 'mike', 'bravo']);
  });

  it('token requests take privacy and metadata; the cards mask follows the data', async () => {
    const bt = await jsClient(writer.key);
    const res = await bt.tokenize({
      ssn: { type: 'social_security_number', data: '123-45-6789', metadata: { Kind: 'SSN' } },
      low: { type: 'token', data: 'low', privacy: { impact_level: 'low' } },
      diners: { type: 'card_number', data: '36227206271667' },
    });
    assertTokenObject(res.ssn, 'social_security_number', writer.id);
    assert.equal(res.ssn.mask, 'XXX-XX-6789');
    assert.deepEqual(res.ssn.metadata, { Kind: 'SSN' });
    assert.deepEqual(res.low.privacy, { classification: 'general', impact_level: 'low', restriction_policy: 'redact' });
    assert.equal(res.diners.mask, 'XXXXXXXXXX1667');
  });

  it('one invalid entry is a 400 naming it, and no token at all is created', async () => {
    const bt = await jsClient(writer.key);
    const run = tag('atomic');
    const marker = tag('primitive');
    const t0 = Date.now();
    const before = await bt.tokens.list({ metadata: { run } });
    assert.equal(before.pagination.totalItems, 0);
    const err = await jsRejects(
      bt.tokenize({
        plain: marker,
        ok: { type: 'token', data: 'fine', metadata: { run } },
        bad: { type: 'card_number', data: '4242424242424241', metadata: { run } },
        list: [marker, { type: 'token', data: marker, metadata: { run } }],
      }),
      400,
    );
    assertFieldError(err.data, 'bad.data');
    const arrayErr = await jsRejects(
      bt.tokenize([marker, { type: 'token', data: 'fine', metadata: { run } }, { type: 'card', data: { number: '4242424242424241' }, metadata: { run } }]),
      400,
    );
    assert.ok(Object.keys(arrayErr.data.errors).some((k) => k.includes('2') && k.endsWith('data.number')), JSON.stringify(arrayErr.data));

    const afterList = await bt.tokens.list({ metadata: { run } });
    assert.equal(afterList.pagination.totalItems, 0, 'no token of the failed request exists');
    const recent = await tokensSince(t0);
    assert.deepEqual(recent.filter((t) => t.data === marker || t.metadata?.run === run), []);
  });

  it('403 without create permission on one classification, creating nothing; 401 for a bad key', async () => {
    const generalOnly = await makeApp(created, { permissions: ['token:general:create'], label: 'tokenize general' });
    const bt = await jsClient(generalOnly.key);
    const marker = tag('forbidden');
    const t0 = Date.now();
    await jsRejects(bt.tokenize({ name: marker, card: { type: 'card', data: { ...CARD } } }), 403);
    assert.deepEqual((await tokensSince(t0)).filter((t) => t.data === marker), []);
    const ok = await bt.tokenize({ name: 'general is fine' });
    assert.match(ok.name, UUID_RE);
    await jsRejects((await jsClient('key_bogus0000000000000')).tokenize({ a: 'b' }), 401);
  });
});

describe('node-sdk 5.7.0 tokenize', () => {
  it('tokenizes the seed composite request', async () => {
    const res = await nodeClient(priv.key).tokens.tokenize(composite());
    assert.match(res.first_name, UUID_RE);
    assert.match(res.last_name, UUID_RE);
    assertTokenObject(res.primary_card, 'card', priv.id);
    assert.deepEqual(res.primary_card.mask, CARD_MASK);
    assert.match(res.sensitive_tags[0], UUID_RE);
    assertTokenObject(res.sensitive_tags[1], 'token', priv.id);
    assert.equal(await read(res.first_name), 'John');
    assert.deepEqual(await read(res.primary_card.id), CARD);
    assert.equal(await read(res.sensitive_tags[1].id), 'vip');
  });

  it('tokenizes an array and a top-level primitive', async () => {
    const bt = nodeClient(priv.key);
    const res = await bt.tokens.tokenize(['one', { type: 'us_bank_account_number', data: '1234567890' }, 3]);
    assert.equal(res.length, 3);
    assert.equal(await read(res[0]), 'one');
    assertTokenObject(res[1], 'us_bank_account_number', priv.id);
    assert.equal(res[1].mask, 'XXXXXX7890');
    assert.equal(await read(res[2]), 3);
    const single = await api('POST', '/tokenize', { key: priv.key, body: 'lonely' });
    assert.ok(single.status === 200 || single.status === 201, JSON.stringify(single.body));
    assert.match(single.body, UUID_RE);
    assert.equal(await read(single.body), 'lonely');
  });

  it('a token request with containers lands there; an invalid one is a BadRequestError', async () => {
    const bt = nodeClient(priv.key);
    const res = await bt.tokens.tokenize({ t: { type: 'token', data: 'boxed', containers: ['/tokenize/box/'] } });
    assert.deepEqual(res.t.containers, ['/tokenize/box/']);
    const err = await nodeRejects(bt.tokens.tokenize({ x: { type: 'bank', data: { routing_number: '1' } } }), NodeBT.BadRequestError, 400);
    assert.ok(Object.keys(err.body.errors).some((k) => k.startsWith('x.data')), JSON.stringify(err.body));
  });
});

describe('node-sdk 5.7.0 detokenize', () => {
  const ids = {};
  before(async () => {
    const bt = nodeClient(priv.key);
    ids.card = (await bt.tokens.create({ type: 'card', data: { ...CARD }, metadata: { owner: 'Ada' } })).id;
    ids.first = (await bt.tokens.create({ type: 'token', data: 'John' })).id;
    ids.last = (await bt.tokens.create({ type: 'token', data: 'Doe' })).id;
    ids.num = (await bt.tokens.create({ type: 'token', data: 42 })).id;
    ids.obj = (await bt.tokens.create({ type: 'token', data: { name: { first: 'Ada', last: 'Lovelace' }, tags: ['a', 'b'] } })).id;
    ids.pan = (await bt.tokens.create({ type: 'card_number', data: '4242424242424242' })).id;
  });

  it('{{ id }} puts the whole data in place, objects as objects', async () => {
    const bt = nodeClient(priv.key);
    const res = await bt.tokens.detokenize({
      card: `{{ ${ids.card} }}`,
      tight: `{{${ids.first}}}`,
      num: `{{ ${ids.num} }}`,
      obj: `{{ ${ids.obj} }}`,
    });
    assert.deepEqual(res, {
      card: CARD,
      tight: 'John',
      num: 42,
      obj: { name: { first: 'Ada', last: 'Lovelace' }, tags: ['a', 'b'] },
    });
  });

  it("json: '$.path' on the data, and token: on the whole token", async () => {
    const bt = nodeClient(priv.key);
    const res = await bt.tokens.detokenize({
      number: `{{ ${ids.card} | json: '$.number' }}`,
      month: `{{ ${ids.card} | json: '$.expiration_month' }}`,
      viaToken: `{{ token: ${ids.card} | json: '$.data.number' }}`,
      owner: `{{ token: ${ids.card} | json: '$.metadata.owner' }}`,
      type: `{{ token: ${ids.card} | json: '$.type' }}`,
      id: `{{ token: ${ids.card} | json: '$.id' }}`,
      first: `{{ ${ids.obj} | json: '$.name.first' }}`,
      bare: `{{ ${ids.card} | $.number }}`,
    });
    assert.deepEqual(res, {
      number: '4242424242424242',
      month: 12,
      viaToken: '4242424242424242',
      owner: 'Ada',
      type: 'card',
      id: ids.card,
      first: 'Ada',
      bare: '4242424242424242',
    });
    const whole = await bt.tokens.detokenize({ t: `{{ token: ${ids.first} }}` });
    assert.equal(whole.t.id, ids.first);
    assert.equal(whole.t.type, 'token');
    assert.equal(whole.t.data, 'John');
  });

  it('concatenates expressions inside text and keeps every other value and the shape', async () => {
    const bt = nodeClient(priv.key);
    const res = await bt.tokens.detokenize({
      full: `{{ ${ids.first} }} {{ ${ids.last} }}`,
      greeting: `Hello, {{ ${ids.first} }}! You are {{ ${ids.num} }}.`,
      exp: `{{ ${ids.card} | json: '$.expiration_month' }}/{{ ${ids.card} | json: '$.expiration_year' }}`,
      list: [`{{ ${ids.last} }}`, { k: `{{ ${ids.first} }}` }, 'plain', 7, null, true],
      untouched: 'plain text {not an expression} $.number',
    });
    assert.equal(res.full, 'John Doe');
    assert.equal(res.greeting, 'Hello, John! You are 42.');
    assert.equal(res.exp, '12/2030');
    assert.deepEqual(res.list, ['Doe', { k: 'John' }, 'plain', 7, null, true]);
    assert.equal(res.untouched, 'plain text {not an expression} $.number');
  });

  it('keeps the order of object members as sent', async () => {
    const res = await nodeClient(priv.key).tokens.detokenize({ zulu: `{{ ${ids.first} }}`, alpha: 'a', mike: { y: 1, b: 2 } });
    assert.deepEqual(Object.keys(res), ['zulu', 'alpha', 'mike']);
    assert.deepEqual(Object.keys(res.mike), ['y', 'b']);
  });

  it('an unknown id is a 400 "Failed to detokenize some tokens"', async () => {
    const bt = nodeClient(priv.key);
    const missing = '3f1b7c4e-0000-4000-8000-00000000dead';
    const err = await nodeRejects(bt.tokens.detokenize({ a: `{{ ${missing} }}`, b: `{{ ${ids.first} }}` }), NodeBT.BadRequestError, 400);
    assert.match(err.body.detail, /^Failed to detokenize some tokens/);
    assert.ok(err.body.detail.includes(missing));
    const raw = await api('POST', '/detokenize', { key: priv.key, body: { a: `{{ ${missing} | json: '$.x' }}` } });
    assert.equal(raw.status, 400);
    assert.match(raw.body.detail, /Failed to detokenize some tokens/);
  });

  it('applies the reader transform; 403 without read; 401 for a bad key', async () => {
    const masker = await makeApp(created, {
      type: 'private',
      label: 'detok mask',
      rules: [{ description: 'pci masked', priority: 1, container: '/pci/', transform: 'mask', permissions: ['token:read'] }],
    });
    const res = await nodeClient(masker.key).tokens.detokenize({ pan: `{{ ${ids.pan} }}` });
    assert.deepEqual(res, { pan: 'XXXXXXXXXXXX4242' });
    await nodeRejects(nodeClient(masker.key).tokens.detokenize({ x: `{{ ${ids.first} }}` }), NodeBT.ForbiddenError, 403);
    const createOnly = await makeApp(created, { type: 'private', permissions: ['token:create'], label: 'detok create only' });
    await nodeRejects(nodeClient(createOnly.key).tokens.detokenize({ x: `{{ ${ids.first} }}` }), NodeBT.ForbiddenError, 403);
    await nodeRejects(nodeClient('key_bogus0000000000000').tokens.detokenize({ x: 'y' }), NodeBT.UnauthorizedError, 401);
  });
});
