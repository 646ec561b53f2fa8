// Reactor formulas and reactors (seed 001 "Reactor Formulas", "Reactors",
// "React with an Atomic Card"; wire contract §3.6, §3.7, §4.4, §6) through
// basis-theory-js 1.22.2 (`reactorFormulas.*`, `reactors.*` CRUD — it has
// no reactors.react — and `atomicCards.react`) and node-sdk 5.7.0
// (`reactors.create/get/list/update/patch/delete/react`): CRUD, the
// plaintext card reaching the code, tokenized output readable back, reactor
// error classes, and 403 without the use permission.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  BasisTheoryError,
  ISO_RE,
  MANAGEMENT_KEY,
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
  uniqueName,
} from './lib/helpers.mjs';
import { api, assertJsFieldError, makeApp, tag } from './lib/tokens.mjs';

failOnSchemaMismatch();

const created = [];
const MISSING = '3f1b7c4e-0000-4000-8000-00000000a70c';
const CARD = { number: '4242424242424242', expiration_month: 11, expiration_year: 2030, cvc: '123' };
let writer; // private: token:create, token:read
let invoker; // private: reactor:invoke, token:use, token:create
let invokeOnly; // private: reactor:invoke
let pciUser; // server_to_server: token:pci:use:reactor, token:general:create
let cardOwner; // server_to_server: pci create and read:high, no use
let mgmtId;
let tenantId;

before(async () => {
  writer = await makeApp(created, { type: 'private', permissions: ['token:create', 'token:read'], label: 'reactor writer' });
  invoker = await makeApp(created, { type: 'private', permissions: ['reactor:invoke', 'token:use', 'token:create'], label: 'reactor invoker' });
  invokeOnly = await makeApp(created, { type: 'private', permissions: ['reactor:invoke'], label: 'reactor invoke only' });
  pciUser = await makeApp(created, { permissions: ['token:pci:use:reactor', 'token:general:create'], label: 'pci use:reactor' });
  cardOwner = await makeApp(created, { permissions: ['token:pci:create', 'token:pci:read:high'], label: 'card owner' });
  const me = await nodeClient().applications.getByKey();
  mgmtId = me.id;
  tenantId = me.tenantId;
});
after(() => cleanupApps(created));

const FORMULA_CODE = `module.exports = async function (context) {
  const card = context.sourceToken.data;
  return {
    raw: {
      number: card.number,
      month: card.expiration_month,
      keyOK: context.configuration.SERVICE_API_KEY === 'key_abcd1234',
      amount: context.requestParameters.amount,
    },
    tokenize: { last4: { type: 'token', data: card.number.slice(-4) } },
  };
};`;

const formulaRequest = (name, sourceTokenType = 'card') => ({
  name,
  description: 'Securely exchange token for another token',
  type: 'private',
  sourceTokenType,
  icon: 'data:image/png;base64, iVBORw0KGgoAAAANSUhEUgAAAAUAAAAFCAYAAACNbyblAAAAHElEQVQI12P4//8/w38GIAXDIBKE0DHxgljNBAAO9TXL0Y4OHwAAAABJRU5ErkJggg==',
  code: FORMULA_CODE,
  configuration: [{ name: 'SERVICE_API_KEY', description: 'Configuration description', type: 'string' }],
  requestParameters: [
    { name: 'amount', description: 'Amount in cents', type: 'number' },
    { name: 'capture', description: 'Capture at once', type: 'boolean', optional: true },
  ],
});

describe('basis-theory-js 1.22.2 reactorFormulas', () => {
  it('creates, retrieves, lists, updates and deletes a private formula', async () => {
    const bt = await jsClient();
    const name = uniqueName('rf');
    const req = formulaRequest(`${name} card`);
    const f = await bt.reactorFormulas.create(req);
    assert.match(f.id, UUID_RE);
    assert.equal(f.name, req.name);
    assert.equal(f.description, req.description);
    assert.equal(f.type, 'private');
    assert.equal(f.sourceTokenType, 'card');
    assert.equal(f.icon, req.icon);
    assert.equal(f.code, FORMULA_CODE);
    assert.deepEqual(f.configuration, req.configuration);
    assert.deepEqual(f.requestParameters, [
      { name: 'amount', description: 'Amount in cents', type: 'number', optional: false },
      { name: 'capture', description: 'Capture at once', type: 'boolean', optional: true },
    ]);
    assert.equal(f.createdBy, mgmtId);
    assert.match(f.createdAt, ISO_RE);

    assert.deepEqual(await bt.reactorFormulas.retrieve(f.id), f);

    const bank = await bt.reactorFormulas.create(formulaRequest(`${name} bank`, 'bank'));
    const byName = await bt.reactorFormulas.list({ name });
    assert.deepEqual(sorted(byName.data.map((x) => x.id)), sorted([f.id, bank.id]));
    assert.equal(byName.pagination.totalItems, 2);
    const byType = await bt.reactorFormulas.list({ name, sourceTokenType: 'bank' });
    assert.deepEqual(byType.data.map((x) => x.id), [bank.id]);
    const page2 = await bt.reactorFormulas.list({ name, page: 2, size: 1 });
    assert.deepEqual(page2.pagination, { totalItems: 2, pageNumber: 2, pageSize: 1, totalPages: 2 });
    assert.equal(page2.data.length, 1);

    const upd = await bt.reactorFormulas.update(f.id, { ...req, name: `${name} card v2`, description: 'v2', requestParameters: [] });
    assert.equal(upd.id, f.id);
    assert.equal(upd.name, `${name} card v2`);
    assert.equal(upd.description, 'v2');
    assert.deepEqual(upd.requestParameters, []);
    assert.equal(upd.modifiedBy, mgmtId);
    assert.match(upd.modifiedAt, ISO_RE);

    await bt.reactorFormulas.delete(f.id);
    await jsRejects(bt.reactorFormulas.retrieve(f.id), 404);
    await bt.reactorFormulas.delete(bank.id);
  });

  it('refuses invalid formulas: 400 naming the field, 422 for code exporting no function', async () => {
    const bt = await jsClient();
    const noName = await jsRejects(bt.reactorFormulas.create({ ...formulaRequest('x'), name: undefined }), 400);
    assertFieldError(noName.data, 'name');
    const badCode = await jsRejects(bt.reactorFormulas.create({ ...formulaRequest('x'), code: 'module.exports = function ( {' }), 400);
    assertFieldError(badCode.data, 'code');
    assert.match(badCode.data.errors.code[0], /does not compile/);
    const notFn = await jsRejects(bt.reactorFormulas.create({ ...formulaRequest('x'), code: 'module.exports = 42;' }), 422);
    assert.match(notFn.data.detail, /export/);
    const reader = await makeApp(created, { type: 'management', permissions: ['reactor:read'], label: 'formula reader' });
    await jsRejects((await jsClient(reader.key)).reactorFormulas.create(formulaRequest('x')), 403);
  });
});

describe('basis-theory-js 1.22.2 reactors and atomicCards.react', () => {
  let formula;
  let reactor;
  before(async () => {
    formula = await (await jsClient()).reactorFormulas.create(formulaRequest(uniqueName('rf atomic')));
  });

  it('creates a reactor from a formula with its configuration verbatim, retrieves, lists, updates', async () => {
    const bt = await jsClient();
    const name = uniqueName('reactor');
    const configuration = { SERVICE_API_KEY: 'key_abcd1234', snake_case_key: 'v', camelKey: 'w' };
    reactor = await bt.reactors.create({ name, configuration, formula: { id: formula.id } });
    assert.match(reactor.id, UUID_RE);
    assert.equal(reactor.tenantId, tenantId);
    assert.equal(reactor.name, name);
    assert.deepEqual(reactor.configuration, configuration);
    assert.equal(reactor.formula.id, formula.id);
    assert.equal(reactor.formula.code, FORMULA_CODE);
    assert.equal(reactor.createdBy, mgmtId);
    assert.match(reactor.createdAt, ISO_RE);

    assert.deepEqual(await bt.reactors.retrieve(reactor.id), reactor);
    const list = await bt.reactors.list({ name });
    assert.deepEqual(list.data.map((r) => r.id), [reactor.id]);
    // basis-theory-js 1.22.2 keeps `configuration` verbatim only at the top
    // level of a response; in a list page it camel-cases its keys itself.
    assert.deepEqual(list.data[0].configuration, { serviceApiKey: 'key_abcd1234', snakeCaseKey: 'v', camelKey: 'w' });
    const raw = await api('GET', `/reactors?name=${encodeURIComponent(name)}`, { key: MANAGEMENT_KEY });
    assert.deepEqual(raw.body.data[0].configuration, configuration, 'the server lists the configuration verbatim');

    const upd = await bt.reactors.update(reactor.id, { name: `${name} v2`, configuration: { SERVICE_API_KEY: 'key_abcd1234' } });
    assert.equal(upd.name, `${name} v2`);
    assert.deepEqual(upd.configuration, { SERVICE_API_KEY: 'key_abcd1234' });
    assert.equal(upd.formula.id, formula.id, 'PUT without formula keeps it');
    assert.equal(upd.modifiedBy, mgmtId);

    const unknown = await jsRejects(bt.reactors.create({ name, configuration: {}, formula: { id: MISSING } }), 400);
    assertJsFieldError(unknown.data, 'formula.id');
  });

  it('atomicCards.react: the formula code gets the plaintext card; tokenize output is a token', async () => {
    const card = await (await jsClient(cardOwner.key)).atomicCards.create({
      card: { number: '4242424242424242', expirationMonth: 12, expirationYear: 2030, cvc: '123' },
    });
    const bt = await jsClient(pciUser.key);
    const res = await bt.atomicCards.react(card.id, {
      reactorId: reactor.id,
      requestParameters: { amount: '1250', ignored: 'x' },
      metadata: { nonSensitiveField: 'Non-Sensitive Value' },
    });
    assert.deepEqual(res.raw, { number: '4242424242424242', month: 12, keyOK: true, amount: 1250 });
    assert.match(res.tokens.last4.id, UUID_RE);
    const tok = await (await jsClient(writer.key)).tokens.retrieve(res.tokens.last4.id);
    assert.equal(tok.data, '4242');

    // Without token:pci:use:reactor: 403, and no plaintext in the answer.
    const refused = await jsRejects((await jsClient(cardOwner.key)).atomicCards.react(card.id, { reactorId: reactor.id, requestParameters: { amount: 1 } }), 403);
    assert.ok(!JSON.stringify(refused.data).includes('4242424242424242'));
    // A missing request parameter names it.
    const missing = await jsRejects(bt.atomicCards.react(card.id, { reactorId: reactor.id }), 400);
    assert.ok(Object.keys(missing.data.errors).some((k) => /amount/i.test(k)), JSON.stringify(missing.data));
  });

  it('deletes the reactor', async () => {
    const bt = await jsClient();
    await bt.reactors.delete(reactor.id);
    await jsRejects(bt.reactors.retrieve(reactor.id), 404);
    await bt.reactorFormulas.delete(formula.id);
  });
});

describe('node-sdk 5.7.0 reactors', () => {
  const CODE = `module.exports = async function (req) {
  const n = req.args.card.number;
  return {
    raw: { last4: n.slice(-4), bin: n.slice(0, 6), merchant: req.configuration.MERCHANT, note: req.args.note },
    tokenize: { pan: { type: 'card_number', data: n }, note: 'note-' + req.args.note },
  };
};`;
  let cardToken;
  let generalToken;
  before(async () => {
    const c = nodeClient(writer.key);
    cardToken = (await c.tokens.create({ type: 'card', data: CARD })).id;
    generalToken = (await c.tokens.create({ type: 'token', data: tag('general') })).id;
  });

  it('create, get, list, update, patch (204), delete', async () => {
    const c = nodeClient();
    const name = uniqueName('node reactor');
    const r = await c.reactors.create({ name, code: CODE, configuration: { MERCHANT: 'm-1', A: 'a' } });
    assert.match(r.id, UUID_RE);
    assert.equal(r.tenantId, tenantId);
    assert.equal(r.name, name);
    assert.equal(r.code, CODE);
    assert.deepEqual(r.configuration, { MERCHANT: 'm-1', A: 'a' });
    assert.ok(r.createdAt instanceof Date, `createdAt ${r.createdAt}`);
    assert.equal(r.createdBy, mgmtId);

    const got = await c.reactors.get(r.id);
    assert.equal(got.id, r.id);
    assert.equal(got.code, CODE);
    assert.deepEqual((await c.reactors.list({ name })).data.map((x) => x.id), [r.id]);
    assert.deepEqual((await c.reactors.list({ id: r.id })).data.map((x) => x.id), [r.id]);

    const code2 = CODE.replace('note-', 'note2-');
    const upd = await c.reactors.update(r.id, { name: `${name} v2`, code: code2, configuration: { MERCHANT: 'm-2', A: 'a' } });
    assert.equal(upd.name, `${name} v2`);
    assert.equal(upd.code, code2);
    assert.ok(upd.modifiedAt instanceof Date);

    assert.equal(await c.reactors.patch(r.id, { configuration: { A: undefined, B: 'b' } }), undefined);
    const patched = await c.reactors.get(r.id);
    assert.equal(patched.name, `${name} v2`);
    assert.equal(patched.code, code2);
    assert.equal(patched.configuration.B, 'b');
    assert.equal(patched.configuration.MERCHANT, 'm-2');

    await c.reactors.delete(r.id);
    await nodeRejects(c.reactors.get(r.id), NodeBT.NotFoundError, 404);
    const bad = await nodeRejects(c.reactors.create({ name, code: 'module.exports = (' }), NodeBT.BadRequestError, 400);
    assertFieldError(bad.body, 'code');
    // node-sdk maps no 422 for reactors.create: a plain BasisTheoryError.
    await nodeRejects(c.reactors.create({ name, code: 'module.exports = 1;' }), BasisTheoryError, 422);
  });

  it('react: the code gets the plaintext card; tokenize output becomes readable tokens', async () => {
    const r = await nodeClient().reactors.create({ name: uniqueName('node react'), code: CODE, configuration: { MERCHANT: 'm-1' } });
    const res = await nodeClient(invoker.key).reactors.react(r.id, { args: { card: `{{ ${cardToken} }}`, note: 'n1' } });
    assert.deepEqual(res.raw, { last4: '4242', bin: '424242', merchant: 'm-1', note: 'n1' });
    assert.match(res.tokens.pan.id, UUID_RE);
    assert.equal(res.tokens.pan.type, 'card_number');
    assert.equal(res.tokens.pan.mask, 'XXXXXXXXXXXX4242');
    assert.match(res.tokens.note, UUID_RE);
    const w = nodeClient(writer.key);
    assert.equal((await w.tokens.get(res.tokens.pan.id)).data, '4242424242424242');
    assert.equal((await w.tokens.get(res.tokens.note)).data, 'note-n1');
  });

  it('react: 403 without the use permission for the token classification', async () => {
    const r = await nodeClient().reactors.create({
      name: uniqueName('node perms'),
      code: 'module.exports = async (req) => ({ raw: { card: req.args.card && req.args.card.number, g: req.args.g } });',
    });
    // reactor:invoke alone does not detokenize.
    await nodeRejects(nodeClient(invokeOnly.key).reactors.react(r.id, { args: { card: `{{ ${cardToken} }}` } }), NodeBT.ForbiddenError, 403);
    // The management key cannot invoke at all.
    await nodeRejects(nodeClient().reactors.react(r.id, { args: {} }), NodeBT.ForbiddenError, 403);
    // token:pci:use:reactor: pci yes, general no.
    const ok = await nodeClient(pciUser.key).reactors.react(r.id, { args: { card: `{{ ${cardToken} }}` } });
    assert.equal(ok.raw.card, '4242424242424242');
    const refused = await nodeRejects(nodeClient(pciUser.key).reactors.react(r.id, { args: { g: `{{ ${generalToken} }}` } }), NodeBT.ForbiddenError, 403);
    assert.ok(!JSON.stringify(refused.body).includes('general-'));
    await nodeRejects(nodeClient(invoker.key).reactors.react(MISSING, { args: {} }), NodeBT.NotFoundError, 404);
  });

  it('react: a thrown reactor error class is its status with detail and errors', async () => {
    const r = await nodeClient().reactors.create({
      name: uniqueName('node thrower'),
      code: `const { BadRequestError, InvalidPaymentMethodError } = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
module.exports = async (req) => {
  if (req.args.kind === 'card') throw new InvalidPaymentMethodError({ card: ['expired'] });
  throw new BadRequestError('missing amount');
};`,
    });
    const c = nodeClient(invoker.key);
    const bad = await nodeRejects(c.reactors.react(r.id, { args: {} }), NodeBT.BadRequestError, 400);
    assert.equal(bad.body.detail, 'Bad Request');
    assert.deepEqual(bad.body.errors, { error: ['missing amount'] });
    let err;
    await assert.rejects(c.reactors.react(r.id, { args: { kind: 'card' } }), (e) => {
      err = e;
      return true;
    });
    assert.ok(err instanceof BasisTheoryError, `${err}`);
    assert.equal(err.statusCode, 402);
    assert.equal(err.body.detail, 'Invalid Payment Method');
    assert.deepEqual(err.body.errors, { card: ['expired'] });
  });
});
