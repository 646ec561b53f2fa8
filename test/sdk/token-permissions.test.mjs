// Who sees what of a token (seed 001 "Token Types", "Privacy Object",
// "Permissions"; seed 003 access rules; wire contract §7.4, §11):
//  - v1: server_to_server apps holding token:<class>:read:low|moderate|high
//    see plaintext at or below their level, else the mask (restriction
//    policy mask) or data: null (redact); no read permission on the
//    classification is a 403;
//  - privacy overrides on create: the impact level may be raised, never set
//    below the type's minimum; classification only to a more specific one;
//    restriction policy only from mask to redact;
//  - current model: private apps with access rules (container, transform,
//    priority), and token:create scoped to a container.

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
import { CLASSES, CURRENT_ALL, V1_ALL, api, assertJsFieldError, makeApp, privacyOf, tag, uniqueContainer } from './lib/tokens.mjs';

failOnSchemaMismatch();

const created = [];
const LEVELS = ['low', 'moderate', 'high'];
const RANK = { low: 0, moderate: 1, high: 2 };

let writer;
const readers = {}; // level -> {id, key}: token:<every class>:read:<level>
const tokens = {}; // name -> {id, data, level, masked}

// name: [type, data, privacy override, impact level, what a lower reader sees]
const FIXTURES = {
  tokenLow: ['token', 'low secret', { impactLevel: 'low' }, 'low', null],
  tokenModerate: ['token', { secret: 'moderate' }, { impactLevel: 'moderate' }, 'moderate', null],
  tokenHigh: ['token', 'high secret', undefined, 'high', null],
  visa: ['card_number', '4242424242424242', undefined, 'high', 'XXXXXXXXXXXX4242'],
  diners: ['card_number', '36227206271667', undefined, 'high', 'XXXXXXXXXX1667'],
  visaRedact: ['card_number', '4000056655665556', { restrictionPolicy: 'redact' }, 'high', null],
  account: ['us_bank_account_number', '1234567890', undefined, 'high', 'XXXXXX7890'],
  routing: ['us_bank_routing_number', '021000021', undefined, 'low', null],
  routingHigh: ['us_bank_routing_number', '021000021', { impactLevel: 'high' }, 'high', null],
  ssnDashed: ['social_security_number', '123-45-6789', undefined, 'high', 'XXX-XX-6789'],
  ssnPlain: ['social_security_number', '123456789', undefined, 'high', 'XXXXX6789'],
  card: [
    'card',
    { number: '5555555555554444', expiration_month: 7, expiration_year: 2031, cvc: '321' },
    undefined,
    'high',
    { number: 'XXXXXXXXXXXX4444', expiration_month: 7, expiration_year: 2031 },
  ],
  bank: [
    'bank',
    { routing_number: '110000000', account_number: '000123456789' },
    undefined,
    'high',
    { routing_number: '110000000', account_number: 'XXXXXXXX6789' },
  ],
};

/** node-sdk's schema turns `"data": null` into undefined (the wire value
 * is checked with fetch below), so redaction reads as null here. */
const nodeData = (t) => (t.data === undefined ? null : t.data);

/** What a reader at level sees of fixture name. */
function expected(name, level) {
  const [, data, , impact, masked] = FIXTURES[name];
  return RANK[level] >= RANK[impact] ? data : masked;
}

before(async () => {
  writer = await makeApp(created, { permissions: V1_ALL, label: 'perm writer' });
  for (const level of LEVELS) {
    readers[level] = await makeApp(created, { permissions: CLASSES.map((c) => `token:${c}:read:${level}`), label: `reader ${level}` });
  }
  const bt = nodeClient(writer.key);
  for (const [name, [type, data, privacy]] of Object.entries(FIXTURES)) {
    const t = await bt.tokens.create({ type, data, privacy });
    tokens[name] = t;
  }
});
after(() => cleanupApps(created));

describe('v1 read levels (token:<classification>:read:<level>)', () => {
  it('the fixtures carry the expected privacy', () => {
    assert.deepEqual(tokens.tokenLow.privacy, privacyOf(['general', 'low', 'redact']));
    assert.deepEqual(tokens.tokenModerate.privacy, privacyOf(['general', 'moderate', 'redact']));
    assert.deepEqual(tokens.tokenModerate.containers, ['/general/moderate/']);
    assert.deepEqual(tokens.visaRedact.privacy, privacyOf(['pci', 'high', 'redact']));
    assert.deepEqual(tokens.routing.privacy, privacyOf(['bank', 'low', 'redact']));
    assert.deepEqual(tokens.routingHigh.privacy, privacyOf(['bank', 'high', 'redact']));
    assert.deepEqual(tokens.routingHigh.containers, ['/bank/high/']);
  });

  for (const level of LEVELS) {
    it(`basis-theory-js retrieve at read:${level}: plaintext, mask or null per impact level`, async () => {
      const bt = await jsClient(readers[level].key);
      for (const name of Object.keys(FIXTURES)) {
        const got = await bt.tokens.retrieve(tokens[name].id);
        assert.equal(got.id, tokens[name].id);
        assert.deepEqual(got.data, expected(name, level), `${name} at read:${level}`);
      }
    });

    it(`node-sdk get at read:${level}: plaintext, mask or null per impact level`, async () => {
      const bt = nodeClient(readers[level].key);
      for (const name of Object.keys(FIXTURES)) {
        const got = await bt.tokens.get(tokens[name].id);
        assert.deepEqual(nodeData(got), expected(name, level), `${name} at read:${level}`);
      }
    });

    it(`basis-theory-js list at read:${level} applies the same rules`, async () => {
      const bt = await jsClient(readers[level].key);
      const ids = Object.values(tokens).map((t) => t.id);
      const list = await bt.tokens.list({ id: ids, size: 100 });
      assert.equal(list.pagination.totalItems, ids.length);
      const byId = new Map(list.data.map((x) => [x.id, x.data]));
      for (const name of Object.keys(FIXTURES)) {
        assert.deepEqual(byId.get(tokens[name].id), expected(name, level), `${name} at read:${level}`);
      }
    });
  }

  it('the redacted token comes as "data": null on the wire', async () => {
    for (const name of ['tokenHigh', 'visaRedact', 'routingHigh']) {
      const res = await api('GET', `/tokens/${tokens[name].id}`, { key: readers.low.key });
      assert.equal(res.status, 200);
      assert.ok(Object.hasOwn(res.body, 'data'), `${name}: ${res.text}`);
      assert.equal(res.body.data, null);
    }
  });

  it('403 reading a classification without any read permission on it; lists skip those tokens', async () => {
    const generalOnly = await makeApp(created, { permissions: ['token:general:read:high'], label: 'general only' });
    const js = await jsClient(generalOnly.key);
    await jsRejects(js.tokens.retrieve(tokens.visa.id), 403);
    await jsRejects(js.tokens.retrieve(tokens.ssnDashed.id), 403);
    await jsRejects(js.tokens.retrieve(tokens.account.id), 403);
    assert.equal((await js.tokens.retrieve(tokens.tokenHigh.id)).data, 'high secret');
    const node = nodeClient(generalOnly.key);
    await nodeRejects(node.tokens.get(tokens.card.id), NodeBT.ForbiddenError, 403);

    const list = await js.tokens.list({ id: Object.values(tokens).map((t) => t.id) });
    assert.deepEqual(
      sorted(list.data.map((x) => x.id)),
      sorted([tokens.tokenLow.id, tokens.tokenModerate.id, tokens.tokenHigh.id]),
    );
  });

  it('create and delete need token:<classification>:create / :delete', async () => {
    const app = await makeApp(created, { permissions: ['token:general:create', 'token:general:read:high', 'token:general:delete'], label: 'general rw' });
    const js = await jsClient(app.key);
    for (const [type, data] of [['card_number', '4242424242424242'], ['social_security_number', '123-45-6789'], ['us_bank_account_number', '1234567890']]) {
      await jsRejects(js.tokens.create({ type, data }), 403);
    }
    const mine = await js.tokens.create({ type: 'token', data: 'mine' });
    assert.equal(await js.tokens.delete(mine.id), undefined);
    await jsRejects(js.tokens.delete(tokens.visa.id), 403);
    assert.equal((await (await jsClient(writer.key)).tokens.retrieve(tokens.visa.id)).data, '4242424242424242');
  });
});

describe('privacy overrides on create', () => {
  it('raising the impact level is allowed, and changes who reads plaintext', async () => {
    const bt = await jsClient(writer.key);
    const routing = await bt.tokens.create({ type: 'us_bank_routing_number', data: '021000021', privacy: { impactLevel: 'moderate' } });
    assert.deepEqual(routing.privacy, privacyOf(['bank', 'moderate', 'redact']));
    assert.deepEqual(routing.containers, ['/bank/moderate/']);
    assert.equal((await (await jsClient(readers.low.key)).tokens.retrieve(routing.id)).data, null);
    assert.equal((await (await jsClient(readers.moderate.key)).tokens.retrieve(routing.id)).data, '021000021');

    const low = await bt.tokens.create({ type: 'token', data: 'lowered to the minimum', privacy: { impactLevel: 'low' } });
    assert.deepEqual(low.privacy, privacyOf(['general', 'low', 'redact']));
    assert.equal((await (await jsClient(readers.low.key)).tokens.retrieve(low.id)).data, 'lowered to the minimum');
  });

  it('an impact level below the type minimum is a 400 naming privacy.impact_level', async () => {
    const js = await jsClient(writer.key);
    const node = nodeClient(writer.key);
    for (const [type, data, level] of [
      ['card_number', '4242424242424242', 'low'],
      ['card_number', '4242424242424242', 'moderate'],
      ['us_bank_account_number', '1234567890', 'moderate'],
      ['social_security_number', '123-45-6789', 'low'],
      ['card', { number: '4242424242424242' }, 'low'],
      ['bank', { routing_number: '021000021', account_number: '1234567890' }, 'moderate'],
    ]) {
      assertJsFieldError((await jsRejects(js.tokens.create({ type, data, privacy: { impactLevel: level } }), 400)).data, 'privacy.impact_level');
      assertFieldError(
        (await nodeRejects(node.tokens.create({ type, data, privacy: { impactLevel: level } }), NodeBT.BadRequestError, 400)).body,
        'privacy.impact_level',
      );
    }
    assertJsFieldError((await jsRejects(js.tokens.create({ type: 'token', data: 'x', privacy: { impactLevel: 'extreme' } }), 400)).data, 'privacy.impact_level');
  });

  it('classification may only become more specific', async () => {
    const js = await jsClient(writer.key);
    const pii = await js.tokens.create({ type: 'token', data: 'jane@example.com', privacy: { classification: 'pii' } });
    assert.deepEqual(pii.privacy, privacyOf(['pii', 'high', 'redact']));
    assert.deepEqual(pii.containers, ['/pii/high/']);
    // It is now a pii token: a general-only reader cannot see it.
    const generalOnly = await makeApp(created, { permissions: ['token:general:read:high'], label: 'general only 2' });
    await jsRejects((await jsClient(generalOnly.key)).tokens.retrieve(pii.id), 403);
    // Creating it needs token:pii:create.
    const generalCreate = await makeApp(created, { permissions: ['token:general:create'], label: 'general create' });
    await jsRejects((await jsClient(generalCreate.key)).tokens.create({ type: 'token', data: 'x', privacy: { classification: 'pii' } }), 403);

    for (const [type, data, classification] of [
      ['card_number', '4242424242424242', 'general'],
      ['card_number', '4242424242424242', 'bank'],
      ['social_security_number', '123-45-6789', 'pci'],
      ['token', 'x', 'secret'],
    ]) {
      assertJsFieldError((await jsRejects(js.tokens.create({ type, data, privacy: { classification } }), 400)).data, 'privacy.classification');
    }
  });

  it('restriction policy may go from mask to redact, not back', async () => {
    const js = await jsClient(writer.key);
    assertJsFieldError(
      (await jsRejects(js.tokens.create({ type: 'token', data: 'x', privacy: { restrictionPolicy: 'mask' } }), 400)).data,
      'privacy.restriction_policy',
    );
    const ssn = await js.tokens.create({ type: 'social_security_number', data: '987-65-4321', privacy: { restrictionPolicy: 'redact' } });
    assert.deepEqual(ssn.privacy, privacyOf(['pii', 'high', 'redact']));
    assert.equal((await (await jsClient(readers.moderate.key)).tokens.retrieve(ssn.id)).data, null);
    assert.equal((await (await jsClient(readers.high.key)).tokens.retrieve(ssn.id)).data, '987-65-4321');
  });
});

describe('access rules (private applications)', () => {
  let priv;
  before(async () => {
    priv = await makeApp(created, { type: 'private', permissions: CURRENT_ALL, label: 'rules writer' });
  });

  it('reveal, mask and redact by container; no matching rule is a 403', async () => {
    const reader = await makeApp(created, {
      type: 'private',
      label: 'rules reader',
      rules: [
        { description: 'general in clear', priority: 1, container: '/general/', transform: 'reveal', permissions: ['token:read'] },
        { description: 'pci masked', priority: 2, container: '/pci/', transform: 'mask', permissions: ['token:read'] },
        { description: 'bank redacted', priority: 3, container: '/bank/', transform: 'redact', permissions: ['token:read'] },
      ],
    });
    const node = nodeClient(reader.key);
    const js = await jsClient(reader.key);
    assert.deepEqual((await node.tokens.get(tokens.tokenModerate.id)).data, { secret: 'moderate' });
    assert.equal((await node.tokens.get(tokens.visa.id)).data, 'XXXXXXXXXXXX4242');
    assert.equal((await node.tokens.get(tokens.diners.id)).data, 'XXXXXXXXXX1667');
    assert.deepEqual((await node.tokens.get(tokens.card.id)).data, FIXTURES.card[4]);
    assert.equal(nodeData(await node.tokens.get(tokens.account.id)), null);
    assert.equal((await js.tokens.retrieve(tokens.bank.id)).data, null);
    assert.equal((await js.tokens.retrieve(tokens.visa.id)).data, 'XXXXXXXXXXXX4242');
    await nodeRejects(node.tokens.get(tokens.ssnDashed.id), NodeBT.ForbiddenError, 403);
    await jsRejects(js.tokens.retrieve(tokens.ssnPlain.id), 403);
    // token:read only: no create, update or delete.
    await nodeRejects(node.tokens.create({ type: 'token', data: 'x' }), NodeBT.ForbiddenError, 403);
    await nodeRejects(node.tokens.delete(tokens.tokenLow.id), NodeBT.ForbiddenError, 403);
  });

  it('the first matching rule by priority decides', async () => {
    const specificFirst = await makeApp(created, {
      type: 'private',
      label: 'priority a',
      rules: [
        { description: 'general redacted', priority: 2, container: '/general/', transform: 'redact', permissions: ['token:read'] },
        { description: 'low general in clear', priority: 1, container: '/general/low/', transform: 'reveal', permissions: ['token:read'] },
      ],
    });
    const a = nodeClient(specificFirst.key);
    assert.equal((await a.tokens.get(tokens.tokenLow.id)).data, 'low secret');
    assert.equal(nodeData(await a.tokens.get(tokens.tokenHigh.id)), null);

    const broadFirst = await makeApp(created, {
      type: 'private',
      label: 'priority b',
      rules: [
        { description: 'general redacted', priority: 1, container: '/general/', transform: 'redact', permissions: ['token:read'] },
        { description: 'low general in clear', priority: 2, container: '/general/low/', transform: 'reveal', permissions: ['token:read'] },
      ],
    });
    const b = nodeClient(broadFirst.key);
    assert.equal(nodeData(await b.tokens.get(tokens.tokenLow.id)), null);
    assert.equal(nodeData(await b.tokens.get(tokens.tokenHigh.id)), null);
  });

  it('mask uses the token mask expression; a token without a mask is redacted', async () => {
    const container = uniqueContainer('mask');
    const w = nodeClient(priv.key);
    const masked = await w.tokens.create({ type: 'token', data: 'abcdef1234', mask: '{{ data | reveal_last: 4 }}', containers: [container] });
    assert.equal(masked.mask, 'XXXXXX1234');
    const plain = await w.tokens.create({ type: 'token', data: 'no mask here', containers: [container] });
    const reader = await makeApp(created, {
      type: 'private',
      label: 'mask reader',
      rules: [{ description: 'masked', priority: 1, container, transform: 'mask', permissions: ['token:read'] }],
    });
    const node = nodeClient(reader.key);
    assert.equal((await node.tokens.get(masked.id)).data, 'XXXXXX1234');
    assert.equal(nodeData(await node.tokens.get(plain.id)), null);
    // Outside the rule's container: 403.
    await nodeRejects(node.tokens.get(tokens.tokenHigh.id), NodeBT.ForbiddenError, 403);
  });

  it('token:create on a container allows creating there (and below) only', async () => {
    const container = uniqueContainer('create');
    const app = await makeApp(created, {
      type: 'private',
      label: 'container creator',
      rules: [{ description: 'create here', priority: 1, container, transform: 'mask', permissions: ['token:create'] }],
    });
    const node = nodeClient(app.key);
    const inside = await node.tokens.create({ type: 'token', data: 'inside', containers: [container] });
    assert.deepEqual(inside.containers, [container]);
    const below = await node.tokens.create({ type: 'card_number', data: '4242424242424242', containers: [`${container}cards/`] });
    assert.deepEqual(below.containers, [`${container}cards/`]);
    await nodeRejects(node.tokens.create({ type: 'token', data: 'default container' }), NodeBT.ForbiddenError, 403);
    await nodeRejects(node.tokens.create({ type: 'token', data: 'elsewhere', containers: [uniqueContainer('other')] }), NodeBT.ForbiddenError, 403);
    const js = await jsClient(app.key);
    await jsRejects(js.tokens.create({ type: 'token', data: 'v1 default' }), 403);
    // Tokenize follows the same rule.
    const ok = await node.tokens.tokenize({ t: { type: 'token', data: 'tokenized inside', containers: [container] } });
    assert.deepEqual(ok.t.containers, [container]);
    await nodeRejects(node.tokens.tokenize({ t: { type: 'token', data: 'tokenized outside' } }), NodeBT.ForbiddenError, 403);
    // The creator cannot read what it created.
    await nodeRejects(node.tokens.get(inside.id), NodeBT.ForbiddenError, 403);
    assert.equal((await nodeClient(priv.key).tokens.get(inside.id)).data, 'inside');
  });

  it('containers are validated and lower-cased', async () => {
    const node = nodeClient(priv.key);
    for (const bad of ['no-slashes', '/no-trailing', '/a//b/', '/bad char/']) {
      const err = await nodeRejects(node.tokens.create({ type: 'token', data: 'x', containers: [bad] }), NodeBT.BadRequestError, 400);
      assert.ok(Object.keys(err.body.errors ?? {}).some((k) => k.startsWith('containers')), JSON.stringify(err.body));
    }
    const name = `/Upper-${tag('c').slice(2, 10)}/`;
    const t = await node.tokens.create({ type: 'token', data: 'x', containers: [name] });
    assert.deepEqual(t.containers, [name.toLowerCase()]);
  });
});
