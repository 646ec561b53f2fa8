// Audit logs (seed 001 "Logs", contract §3.11/§4.5): GET /logs with
// entity_type, entity_id, start_date (inclusive), end_date (exclusive), and
// page/size or the start cursor (pagination.next / after).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  ISO_RE,
  NodeBT,
  cleanupApps,
  failOnSchemaMismatch,
  jsClient,
  jsRejects,
  nodeClient,
  nodeRejects,
  sorted,
  uniqueName,
} from './lib/helpers.mjs';

failOnSchemaMismatch();

const created = [];
let mgmtApp;
before(async () => {
  mgmtApp = await nodeClient().applications.getByKey();
});
after(() => cleanupApps(created));

/** Creates, updates and deletes an application so it has three log entries. */
async function appWithHistory(label) {
  const bt = nodeClient();
  const app = await bt.applications.create({ name: uniqueName(label), type: 'private', permissions: ['token:read'] });
  created.push(app.id);
  await bt.applications.update(app.id, { name: uniqueName(`${label} v2`), permissions: ['token:create'] });
  await bt.applications.delete(app.id);
  return app;
}

describe('basis-theory-js 1.22.2 logs.list', () => {
  it('filters by entity type and id', async () => {
    const app = await appWithHistory('js logs');
    const bt = await jsClient();
    const res = await bt.logs.list({ entityType: 'application', entityId: app.id });
    assert.deepEqual(sorted(res.data.map((l) => l.operation)), ['create', 'delete', 'update']);
    assert.equal(res.pagination.totalItems, 3);
    assert.equal(res.pagination.pageNumber, 1);
    for (const l of res.data) {
      assert.equal(l.tenantId, mgmtApp.tenantId);
      assert.equal(l.entityType, 'application');
      assert.equal(l.entityId, app.id);
      assert.equal(l.actorId, mgmtApp.id);
      assert.equal(l.actorType, 'application');
      assert.equal(typeof l.message, 'string');
      assert.ok(l.message.length > 0);
      assert.match(l.createdAt, ISO_RE);
    }
    // Another entity type with the same id matches nothing.
    const none = await bt.logs.list({ entityType: 'tenant', entityId: app.id });
    assert.deepEqual(none.data, []);
    assert.equal(none.pagination.totalItems, 0);
  });

  it('pages with page and size', async () => {
    const app = await appWithHistory('js logs paging');
    const bt = await jsClient();
    const pages = [];
    for (let page = 1; page <= 3; page++) {
      const res = await bt.logs.list({ entityId: app.id, page, size: 1 });
      const { totalItems, pageNumber, pageSize, totalPages, next, after } = res.pagination;
      assert.deepEqual({ totalItems, pageNumber, pageSize, totalPages }, { totalItems: 3, pageNumber: page, pageSize: 1, totalPages: 3 });
      // A cursor to the entry after the page, under both names.
      assert.equal(typeof next === 'string', page < 3, JSON.stringify(res.pagination));
      assert.equal(after, next);
      assert.equal(res.data.length, 1);
      pages.push(res.data[0].operation);
    }
    assert.deepEqual(sorted(pages), ['create', 'delete', 'update']);
    const beyond = await bt.logs.list({ entityId: app.id, page: 4, size: 1 });
    assert.deepEqual(beyond.data, []);
  });

  it('treats start_date as inclusive and end_date as exclusive', async () => {
    const app = await appWithHistory('js logs dates');
    const bt = await jsClient();
    const all = (await bt.logs.list({ entityId: app.id })).data;
    const create = all.find((l) => l.operation === 'create');
    const del = all.find((l) => l.operation === 'delete');
    assert.ok(create && del);

    const fromCreate = await bt.logs.list({ entityId: app.id, startDate: create.createdAt });
    assert.ok(fromCreate.data.some((l) => l.operation === 'create'), 'start_date must be inclusive');
    assert.equal(fromCreate.data.length, 3);

    const untilCreate = await bt.logs.list({ entityId: app.id, endDate: create.createdAt });
    assert.deepEqual(untilCreate.data, [], 'end_date must be exclusive');

    const fromDelete = await bt.logs.list({ entityId: app.id, startDate: del.createdAt });
    assert.ok(fromDelete.data.every((l) => l.createdAt >= del.createdAt));
    assert.ok(fromDelete.data.some((l) => l.operation === 'delete'));

    const afterDelete = new Date(Date.parse(del.createdAt) + 24 * 3600 * 1000).toISOString();
    const window = await bt.logs.list({ entityId: app.id, startDate: create.createdAt, endDate: afterDelete });
    assert.equal(window.data.length, 3);
    assert.deepEqual((await bt.logs.list({ entityId: app.id, startDate: afterDelete })).data, []);
  });

  it('rejects a malformed date with 400 naming the field', async () => {
    const bt = await jsClient();
    const err = await jsRejects(bt.logs.list({ startDate: 'not-a-date' }), 400);
    assert.ok(Object.keys(err.data.errors ?? {}).some((k) => /^start_?date$/i.test(k)), JSON.stringify(err.data));
  });

  it('needs log:read', async () => {
    const bt = await jsClient();
    const app = await bt.applications.create({ name: uniqueName('js logs noperm'), type: 'management', permissions: ['application:read'] });
    created.push(app.id);
    await jsRejects((await jsClient(app.key)).logs.list(), 403);
    await jsRejects((await jsClient('key_not_a_real_key')).logs.list(), 401);
  });
});

describe('node-sdk 5.7.0 logs.list', () => {
  it('filters by entity type, id and dates', async () => {
    const app = await appWithHistory('node logs');
    const bt = nodeClient();
    const page = await bt.logs.list({ entityType: 'application', entityId: app.id });
    assert.deepEqual(sorted(page.data.map((l) => l.operation)), ['create', 'delete', 'update']);
    for (const l of page.data) {
      assert.equal(l.entityId, app.id);
      assert.equal(l.entityType, 'application');
      assert.equal(l.tenantId, mgmtApp.tenantId);
      assert.equal(l.actorId, mgmtApp.id);
      assert.ok(l.createdAt instanceof Date && !Number.isNaN(l.createdAt.getTime()));
    }
    const create = page.data.find((l) => l.operation === 'create');
    // node-sdk sends Date#toISOString() (millisecond precision).
    const before = new Date(create.createdAt.getTime() - 1);
    const later = new Date(create.createdAt.getTime() + 24 * 3600 * 1000);
    const win = await bt.logs.list({ entityId: app.id, startDate: before, endDate: later });
    assert.equal(win.data.length, 3);
    const none = await bt.logs.list({ entityId: app.id, endDate: before });
    assert.deepEqual(none.data, []);
  });

  it('pages with size and the SDK auto-pager', async () => {
    const app = await appWithHistory('node logs paging');
    const bt = nodeClient();
    const first = await bt.logs.list({ entityId: app.id, size: 2 });
    assert.equal(first.data.length, 2);
    assert.equal(first.response.pagination.totalItems, 3);
    assert.equal(first.response.pagination.pageSize, 2);
    const ops = [];
    for await (const l of await bt.logs.list({ entityId: app.id, size: 2 })) ops.push(l.operation);
    assert.deepEqual(sorted(ops), ['create', 'delete', 'update']);
  });

  it('pages with the start cursor of pagination.next', async () => {
    const app = await appWithHistory('node logs cursor');
    const bt = nodeClient();
    const first = await bt.logs.list({ entityId: app.id, size: 1 });
    const ops = [first.data[0].operation];
    let cursor = first.response.pagination.next;
    assert.equal(first.response.pagination.after, cursor);
    for (let i = 0; cursor && i < 5; i++) {
      const res = await bt.logs.list({ entityId: app.id, start: cursor, size: 1 });
      assert.equal(res.response.pagination.pageSize, 1);
      assert.equal(res.response.pagination.totalItems, undefined, 'a cursor page counts nothing');
      ops.push(...res.data.map((l) => l.operation));
      cursor = res.response.pagination.next;
    }
    assert.deepEqual(ops, ['delete', 'update', 'create']);
    // The auto-pager adds page to a cursor request: page 2 is one page on.
    const walked = [];
    for await (const l of await bt.logs.list({ entityId: app.id, start: first.response.pagination.next, size: 1 })) walked.push(l.operation);
    assert.deepEqual(walked, ['update', 'create']);
    await nodeRejects(bt.logs.list({ start: 'not-a-cursor!' }), NodeBT.BadRequestError, 400);
    // Another tenant's cursor, or a forged one, names nothing here.
    await nodeRejects(bt.logs.list({ start: Buffer.from('log\0other-tenant\0').toString('base64url') }), NodeBT.BadRequestError, 400);
  });

  it('lists the entity types', async () => {
    const types = await nodeClient().logs.getEntityTypes();
    assert.ok(Array.isArray(types));
    for (const t of types) {
      assert.equal(typeof t.displayName, 'string');
      assert.equal(typeof t.value, 'string');
    }
    const values = types.map((t) => t.value);
    for (const v of ['application', 'tenant', 'token']) assert.ok(values.includes(v), `missing entity type ${v}`);
  });

  it('is refused without log:read', async () => {
    const bt = nodeClient();
    const app = await bt.applications.create({ name: uniqueName('node logs noperm'), type: 'private', permissions: ['token:read'] });
    created.push(app.id);
    await nodeRejects(nodeClient(app.key).logs.list(), NodeBT.ForbiddenError, 403);
    await nodeRejects(nodeClient('key_not_a_real_key').logs.list(), NodeBT.UnauthorizedError, 401);
  });
});
