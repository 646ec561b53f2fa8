// Atomic cards and banks (seed 001 "Atomic Cards", "Atomic Banks", "Test
// Cards"; wire contract §3.4, §3.5) through basis-theory-js 1.22.2
// `atomicCards.*` and `atomicBanks.*` (node-sdk 5.x has no atomic calls):
// create (masked number, no cvc, fingerprint), list, retrieve, PATCH update,
// the deprecated decrypt (plaintext at read:high, 403 otherwise), delete,
// validation errors naming card.number / bank.routing_number.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ISO_RE, UUID_RE, cleanupApps, failOnSchemaMismatch, jsClient, jsRejects, nodeClient, sorted } from './lib/helpers.mjs';
import { assertJsFieldError, makeApp, randomCardNumber, tag } from './lib/tokens.mjs';

failOnSchemaMismatch();

const created = [];
const MISSING = '3f1b7c4e-0000-4000-8000-00000000a70c';
let writer; // pci and bank: create, read:high, update, delete
let low; // pci and bank: read:low
let tenantId;

before(async () => {
  writer = await makeApp(created, {
    permissions: ['pci', 'bank'].flatMap((c) => [`token:${c}:create`, `token:${c}:read:high`, `token:${c}:update`, `token:${c}:delete`]),
    label: 'atomic writer',
  });
  low = await makeApp(created, { permissions: ['token:pci:read:low', 'token:bank:read:low'], label: 'atomic low' });
  tenantId = (await nodeClient().applications.getByKey()).tenantId;
});
after(() => cleanupApps(created));

const FP_RE = /^[1-9A-HJ-NP-Za-km-z]{40,48}$/;

describe('basis-theory-js 1.22.2 atomicCards', () => {
  it('creates a card: masked number, expiry kept, no cvc, fingerprint', async () => {
    const bt = await jsClient(writer.key);
    const metadata = { nonSensitiveField: 'Non-Sensitive Value', snake_key: 'Kept' };
    const card = await bt.atomicCards.create({
      card: { number: '4242424242424242', expirationMonth: 12, expirationYear: 2030, cvc: '123' },
      metadata,
    });
    assert.match(card.id, UUID_RE);
    assert.equal(card.tenantId, tenantId);
    assert.equal(card.type, 'card');
    assert.deepEqual(card.card, { number: 'XXXXXXXXXXXX4242', expirationMonth: 12, expirationYear: 2030 });
    assert.match(card.fingerprint, FP_RE);
    assert.deepEqual(card.metadata, metadata);
    assert.equal(card.createdBy, writer.id);
    assert.match(card.createdAt, ISO_RE);
    assert.equal(card.data, undefined);

    const got = await bt.atomicCards.retrieve(card.id);
    assert.equal(got.id, card.id);
    assert.deepEqual(got.card, { number: 'XXXXXXXXXXXX4242', expirationMonth: 12, expirationYear: 2030 });
    assert.equal(got.fingerprint, card.fingerprint);
    assert.deepEqual(got.metadata, metadata);
    const lowGot = await (await jsClient(low.key)).atomicCards.retrieve(card.id);
    assert.deepEqual(lowGot.card, { number: 'XXXXXXXXXXXX4242', expirationMonth: 12, expirationYear: 2030 });

    // It is a `card` token underneath.
    const asToken = await bt.tokens.retrieve(card.id);
    assert.equal(asToken.type, 'card');
    assert.deepEqual(asToken.data, { number: '4242424242424242', expiration_month: 12, expiration_year: 2030, cvc: '123' });
    assert.deepEqual(asToken.privacy, { classification: 'pci', impactLevel: 'high', restrictionPolicy: 'mask' });
  });

  it('the same number gives the same fingerprint; 36227206271667 masks as XXXXXXXXXX1667', async () => {
    const bt = await jsClient(writer.key);
    const number = randomCardNumber();
    const a = await bt.atomicCards.create({ card: { number, expirationMonth: 1, expirationYear: 2031 } });
    const b = await bt.atomicCards.create({ card: { number } });
    assert.equal(a.fingerprint, b.fingerprint);
    assert.deepEqual(b.card, { number: `XXXXXXXXXXXX${number.slice(-4)}` });
    const diners = await bt.atomicCards.create({ card: { number: '36227206271667', expirationMonth: 3, expirationYear: 2032 } });
    assert.equal(diners.card.number, 'XXXXXXXXXX1667');
    assert.notEqual(diners.fingerprint, a.fingerprint);
  });

  it('rejects invalid cards with a 400 naming the card field', async () => {
    const bt = await jsClient(writer.key);
    for (const card of [{ number: '4242424242424241' }, { number: '4242 4242 4242 4242' }, { number: '42424242' }, { expirationMonth: 1, expirationYear: 2030 }]) {
      assertJsFieldError((await jsRejects(bt.atomicCards.create({ card }), 400)).data, 'card.number');
    }
    assertJsFieldError(
      (await jsRejects(bt.atomicCards.create({ card: { number: '4242424242424242', expirationMonth: 13, expirationYear: 2030 } }), 400)).data,
      'card.expiration_month',
    );
    assertJsFieldError((await jsRejects(bt.atomicCards.create({ metadata: { a: 'b' } }), 400)).data, 'card');
  });

  it('lists cards (masked) with id filter and paging', async () => {
    const bt = await jsClient(writer.key);
    const ids = [];
    for (const n of ['5555555555554444', '378282246310005', '6011111111111117']) {
      ids.push((await bt.atomicCards.create({ card: { number: n, expirationMonth: 5, expirationYear: 2030 }, metadata: { nonSensitiveField: n } })).id);
    }
    const bank = await bt.atomicBanks.create({ bank: { routingNumber: '021000021', accountNumber: '1234567890' } });
    const list = await bt.atomicCards.list({ id: [...ids, bank.id] });
    assert.deepEqual(sorted(list.data.map((c) => c.id)), sorted(ids), 'a bank is not a card');
    assert.deepEqual(list.pagination, { totalItems: 3, pageNumber: 1, pageSize: 20, totalPages: 1 });
    const byId = Object.fromEntries(list.data.map((c) => [c.id, c]));
    assert.deepEqual(byId[ids[0]].card, { number: 'XXXXXXXXXXXX4444', expirationMonth: 5, expirationYear: 2030 });
    assert.deepEqual(byId[ids[1]].card, { number: 'XXXXXXXXXXX0005', expirationMonth: 5, expirationYear: 2030 });
    assert.deepEqual(byId[ids[2]].metadata, { nonSensitiveField: '6011111111111117' });
    assert.equal(byId[ids[2]].tenantId, tenantId);
    for (const c of list.data) assert.equal(c.type, 'card');

    const p2 = await bt.atomicCards.list({ id: ids, page: 2, size: 2 });
    assert.deepEqual(p2.pagination, { totalItems: 3, pageNumber: 2, pageSize: 2, totalPages: 2 });
    assert.equal(p2.data.length, 1);
  });

  it('updates a card with PATCH', async () => {
    const bt = await jsClient(writer.key);
    const card = await bt.atomicCards.create({ card: { number: '4242424242424242', expirationMonth: 12, expirationYear: 2030, cvc: '123' }, metadata: { nonSensitiveField: 'v' } });
    const upd = await bt.atomicCards.update(card.id, { card: { number: '5105105105105100', expirationMonth: 6, expirationYear: 2033, cvc: '987' } });
    assert.equal(upd.id, card.id);
    assert.deepEqual(upd.card, { number: 'XXXXXXXXXXXX5100', expirationMonth: 6, expirationYear: 2033 });
    assert.notEqual(upd.fingerprint, card.fingerprint);
    assert.equal(upd.modifiedBy, writer.id);
    assert.match(upd.modifiedAt, ISO_RE);
    assert.equal(upd.createdAt, card.createdAt);
    assert.deepEqual(upd.metadata, { nonSensitiveField: 'v' });
    const dec = await bt.atomicCards.retrieveDecrypted(card.id);
    assert.deepEqual(dec.card, { number: '5105105105105100', expirationMonth: 6, expirationYear: 2033, cvc: '987' });
    assertJsFieldError((await jsRejects(bt.atomicCards.update(card.id, { card: { number: '1234' } }), 400)).data, 'card.number');
    await jsRejects(bt.atomicCards.update(MISSING, { card: { number: '4242424242424242' } }), 404);
    const readOnly = await jsClient(low.key);
    await jsRejects(readOnly.atomicCards.update(card.id, { card: { number: '4242424242424242' } }), 403);
  });

  it('decrypts with read:high only', async () => {
    const bt = await jsClient(writer.key);
    const card = await bt.atomicCards.create({ card: { number: '4000056655665556', expirationMonth: 2, expirationYear: 2031, cvc: '4321' } });
    const dec = await bt.atomicCards.retrieveDecrypted(card.id);
    assert.equal(dec.id, card.id);
    assert.deepEqual(dec.card, { number: '4000056655665556', expirationMonth: 2, expirationYear: 2031, cvc: '4321' });
    assert.equal(dec.fingerprint, card.fingerprint);
    await jsRejects((await jsClient(low.key)).atomicCards.retrieveDecrypted(card.id), 403);
    const generalOnly = await makeApp(created, { permissions: ['token:general:read:high'], label: 'atomic general' });
    await jsRejects((await jsClient(generalOnly.key)).atomicCards.retrieve(card.id), 403);
  });

  it('deletes a card; 404 for unknown ids and for a bank id', async () => {
    const bt = await jsClient(writer.key);
    const card = await bt.atomicCards.create({ card: { number: '3566002020360505' } });
    const bank = await bt.atomicBanks.create({ bank: { routingNumber: '110000000', accountNumber: '000123456789' } });
    await jsRejects(bt.atomicCards.retrieve(bank.id), 404);
    await jsRejects(bt.atomicCards.delete(bank.id), 404);
    await jsRejects((await jsClient(low.key)).atomicCards.delete(card.id), 403);
    assert.equal(await bt.atomicCards.delete(card.id), undefined);
    await jsRejects(bt.atomicCards.retrieve(card.id), 404);
    await jsRejects(bt.atomicCards.retrieveDecrypted(card.id), 404);
    await jsRejects(bt.atomicCards.delete(card.id), 404);
    await jsRejects(bt.tokens.retrieve(card.id), 404);
    await jsRejects((await jsClient('key_bogus0000000000000')).atomicCards.retrieve(bank.id), 401);
  });
});

describe('basis-theory-js 1.22.2 atomicBanks', () => {
  it('creates a bank: routing number in clear, account number masked, fingerprint', async () => {
    const bt = await jsClient(writer.key);
    const metadata = { nonSensitiveField: 'Non-Sensitive Value' };
    const bank = await bt.atomicBanks.create({ bank: { routingNumber: '021000021', accountNumber: '1234567890' }, metadata });
    assert.match(bank.id, UUID_RE);
    assert.equal(bank.type, 'bank');
    assert.equal(bank.tenantId, tenantId);
    assert.deepEqual(bank.bank, { routingNumber: '021000021', accountNumber: 'XXXXXX7890' });
    assert.match(bank.fingerprint, FP_RE);
    assert.deepEqual(bank.metadata, metadata);
    assert.equal(bank.createdBy, writer.id);

    // read:low sees the mask; read:high sees plaintext (seed 001 "Get an Atomic Bank").
    const lowGot = await (await jsClient(low.key)).atomicBanks.retrieve(bank.id);
    assert.deepEqual(lowGot.bank, { routingNumber: '021000021', accountNumber: 'XXXXXX7890' });
    const highGot = await bt.atomicBanks.retrieve(bank.id);
    assert.deepEqual(highGot.bank, { routingNumber: '021000021', accountNumber: '1234567890' });
  });

  it('lists banks: plaintext at read:high, masked at read:low', async () => {
    const bt = await jsClient(writer.key);
    const account = String(Date.now()).slice(-9);
    const bank = await bt.atomicBanks.create({ bank: { routingNumber: '110000000', accountNumber: account }, metadata: { nonSensitiveField: tag() } });
    const high = await bt.atomicBanks.list({ id: [bank.id] });
    assert.equal(high.pagination.totalItems, 1);
    assert.deepEqual(high.data[0].bank, { routingNumber: '110000000', accountNumber: account });
    const lowList = await (await jsClient(low.key)).atomicBanks.list({ id: [bank.id] });
    assert.deepEqual(lowList.data[0].bank, { routingNumber: '110000000', accountNumber: `XXXXX${account.slice(-4)}` });
  });

  it('rejects invalid banks with a 400 naming the bank field', async () => {
    const bt = await jsClient(writer.key);
    assertJsFieldError((await jsRejects(bt.atomicBanks.create({ bank: { routingNumber: '021000022', accountNumber: '1234567890' } }), 400)).data, 'bank.routing_number');
    assertJsFieldError((await jsRejects(bt.atomicBanks.create({ bank: { routingNumber: '0210', accountNumber: '1234567890' } }), 400)).data, 'bank.routing_number');
    assertJsFieldError((await jsRejects(bt.atomicBanks.create({ bank: { routingNumber: '021000021', accountNumber: '123456789012345678' } }), 400)).data, 'bank.account_number');
    assertJsFieldError((await jsRejects(bt.atomicBanks.create({ bank: { routingNumber: '021000021' } }), 400)).data, 'bank.account_number');
  });

  it('updates, decrypts and deletes a bank', async () => {
    const bt = await jsClient(writer.key);
    const bank = await bt.atomicBanks.create({ bank: { routingNumber: '021000021', accountNumber: '1234567890' } });
    const upd = await bt.atomicBanks.update(bank.id, { bank: { routingNumber: '110000000', accountNumber: '000123456789' } });
    assert.equal(upd.id, bank.id);
    assert.equal(upd.bank.routingNumber, '110000000');
    assert.equal(upd.modifiedBy, writer.id);
    assert.notEqual(upd.fingerprint, bank.fingerprint);
    const lowGot = await (await jsClient(low.key)).atomicBanks.retrieve(bank.id);
    assert.deepEqual(lowGot.bank, { routingNumber: '110000000', accountNumber: 'XXXXXXXX6789' });

    const dec = await bt.atomicBanks.retrieveDecrypted(bank.id);
    assert.deepEqual(dec.bank, { routingNumber: '110000000', accountNumber: '000123456789' });
    await jsRejects((await jsClient(low.key)).atomicBanks.retrieveDecrypted(bank.id), 403);
    assertJsFieldError((await jsRejects(bt.atomicBanks.update(bank.id, { bank: { routingNumber: '999999999', accountNumber: '1' } }), 400)).data, 'bank.routing_number');

    assert.equal(await bt.atomicBanks.delete(bank.id), undefined);
    await jsRejects(bt.atomicBanks.retrieve(bank.id), 404);
    await jsRejects(bt.atomicBanks.delete(bank.id), 404);
    await jsRejects(bt.atomicBanks.retrieve(MISSING), 404);
  });
});
