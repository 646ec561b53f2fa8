// Applications through both SDK generations: create (every type, with
// permissions and access rules), get, get by key, list (id/type filters,
// page/size), update (PUT), regenerate, delete. Seeds 001 and 003.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  ISO_RE,
  NodeBT,
  UUID_RE,
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
let mgmtApp; // the application owning STRONGROOM_MANAGEMENT_KEY, via node-sdk

before(async () => {
  mgmtApp = await nodeClient().applications.getByKey();
  assert.match(mgmtApp.id, UUID_RE);
  assert.equal(mgmtApp.type, 'management');
});
after(() => cleanupApps(created));

describe('basis-theory-js 1.22.2 applications', () => {
  const v1Types = [
    ['server_to_server', ['token:general:create', 'token:general:read:low', 'token:pci:create', 'token:pci:read:low']],
    ['public', ['token:general:create', 'token:pii:create']],
    ['elements', ['token:pci:create']],
    ['management', ['application:create', 'application:read']],
  ];

  for (const [type, permissions] of v1Types) {
    it(`creates a ${type} application and reads it back`, async () => {
      const bt = await jsClient();
      const name = uniqueName(`js ${type}`);
      const app = await bt.applications.create({ name, type, permissions });
      created.push(app.id);

      assert.match(app.id, UUID_RE);
      assert.equal(app.tenantId, mgmtApp.tenantId);
      assert.equal(app.name, name);
      assert.equal(app.type, type);
      assert.deepEqual(sorted(app.permissions), sorted(permissions));
      assert.match(app.key, /^key_[A-Za-z0-9_]+$/, 'create returns the new API key');
      assert.equal(app.createdBy, mgmtApp.id);
      assert.match(app.createdAt, ISO_RE);

      const got = await bt.applications.retrieve(app.id);
      assert.equal(got.id, app.id);
      assert.equal(got.name, name);
      assert.equal(got.type, type);
      assert.equal(got.tenantId, mgmtApp.tenantId);
      assert.deepEqual(sorted(got.permissions), sorted(permissions));
      assert.equal(got.createdAt, app.createdAt);
    });
  }

  it('retrieveByKey returns the application owning the calling key', async () => {
    const bt = await jsClient();
    const self = await bt.applications.retrieveByKey();
    assert.equal(self.id, mgmtApp.id);
    assert.equal(self.type, 'management');
    assert.ok(self.permissions.includes('application:read'));

    // A freshly created management app sees itself, not the caller.
    const name = uniqueName('js by-key');
    const app = await bt.applications.create({ name, type: 'management', permissions: ['application:read'] });
    created.push(app.id);
    const own = await (await jsClient(app.key)).applications.retrieveByKey();
    assert.equal(own.id, app.id);
    assert.equal(own.name, name);
    assert.deepEqual(own.permissions, ['application:read']);
  });

  it('lists with id and type filters and page/size', async () => {
    const bt = await jsClient();
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const app = await bt.applications.create({ name: uniqueName(`js list ${i}`), type: 'elements', permissions: ['token:pci:create'] });
      created.push(app.id);
      ids.push(app.id);
    }
    const other = await bt.applications.create({ name: uniqueName('js list other'), type: 'public', permissions: ['token:general:create'] });
    created.push(other.id);

    // id filter (repeated `id=`), default paging.
    const all = await bt.applications.list({ id: [...ids, other.id] });
    assert.deepEqual(sorted(all.data.map((a) => a.id)), sorted([...ids, other.id]));
    assert.equal(all.pagination.totalItems, 4);
    assert.equal(all.pagination.pageNumber, 1);
    assert.equal(all.pagination.pageSize, 20);
    assert.equal(all.pagination.totalPages, 1);

    // type filter narrows the same id set.
    const elements = await bt.applications.list({ id: [...ids, other.id], type: 'elements' });
    assert.deepEqual(sorted(elements.data.map((a) => a.id)), sorted(ids));
    for (const a of elements.data) assert.equal(a.type, 'elements');
    const pub = await bt.applications.list({ id: [...ids, other.id], type: 'public' });
    assert.deepEqual(pub.data.map((a) => a.id), [other.id]);

    // page/size: 3 items, 2 per page.
    const p1 = await bt.applications.list({ id: ids, page: 1, size: 2 });
    const p2 = await bt.applications.list({ id: ids, page: 2, size: 2 });
    assert.equal(p1.data.length, 2);
    assert.equal(p2.data.length, 1);
    assert.deepEqual(p1.pagination, { totalItems: 3, pageNumber: 1, pageSize: 2, totalPages: 2 });
    assert.deepEqual(p2.pagination, { totalItems: 3, pageNumber: 2, pageSize: 2, totalPages: 2 });
    assert.deepEqual(sorted([...p1.data, ...p2.data].map((a) => a.id)), sorted(ids));
    // size is capped at 100.
    const big = await bt.applications.list({ id: ids, size: 1000 });
    assert.ok(big.pagination.pageSize <= 100, `page_size ${big.pagination.pageSize} exceeds the maximum of 100`);
    assert.equal(big.data.length, 3);
    const p3 = await bt.applications.list({ id: ids, page: 3, size: 2 });
    assert.deepEqual(p3.data, []);
    assert.equal(p3.pagination.totalItems, 3);
    for (const a of [...p1.data, ...p2.data]) {
      assert.equal(a.tenantId, mgmtApp.tenantId);
      assert.deepEqual(a.permissions, ['token:pci:create']);
    }
  });

  it('lists every application of the tenant without filters', async () => {
    const bt = await jsClient();
    const app = await bt.applications.create({ name: uniqueName('js unfiltered'), type: 'management', permissions: ['log:read'] });
    created.push(app.id);
    const first = await bt.applications.list({ size: 100 });
    const seen = new Set(first.data.map((a) => a.id));
    for (let page = 2; page <= first.pagination.totalPages; page++) {
      const next = await bt.applications.list({ page, size: 100 });
      for (const a of next.data) seen.add(a.id);
    }
    assert.ok(seen.has(app.id));
    assert.ok(seen.has(mgmtApp.id));
    // Other test files may create or delete applications meanwhile, so the
    // total is only bounded, not exact.
    assert.ok(first.pagination.totalItems >= 2);
    assert.equal(first.pagination.pageSize, 100);
    assert.equal(first.pagination.totalPages, Math.ceil(first.pagination.totalItems / 100));
  });

  it('updates name and permissions with PUT', async () => {
    const bt = await jsClient();
    const app = await bt.applications.create({
      name: uniqueName('js update'),
      type: 'server_to_server',
      permissions: ['token:general:create'],
    });
    created.push(app.id);
    const name = uniqueName('js updated');
    const updated = await bt.applications.update(app.id, {
      name,
      permissions: ['token:general:read:high', 'token:pci:read:moderate'],
    });
    assert.equal(updated.id, app.id);
    assert.equal(updated.name, name);
    assert.equal(updated.type, 'server_to_server');
    assert.deepEqual(sorted(updated.permissions), ['token:general:read:high', 'token:pci:read:moderate']);
    assert.equal(updated.modifiedBy, mgmtApp.id);
    assert.match(updated.modifiedAt, ISO_RE);

    const got = await bt.applications.retrieve(app.id);
    assert.equal(got.name, name);
    assert.deepEqual(sorted(got.permissions), ['token:general:read:high', 'token:pci:read:moderate']);
    assert.equal(got.createdAt, app.createdAt);

    // The key keeps working with the new permissions (read-only now).
    const own = await jsClient(app.key);
    await jsRejects(own.applications.list(), 403);
  });

  it('regenerateKey issues a new key and revokes the old one at once', async () => {
    const bt = await jsClient();
    const name = uniqueName('js regenerate');
    const app = await bt.applications.create({ name, type: 'management', permissions: ['application:read'] });
    created.push(app.id);
    const oldClient = await jsClient(app.key);
    assert.equal((await oldClient.applications.retrieveByKey()).id, app.id);

    const regen = await bt.applications.regenerateKey(app.id);
    assert.equal(regen.id, app.id);
    assert.equal(regen.name, name);
    assert.equal(regen.type, 'management');
    assert.deepEqual(regen.permissions, ['application:read']);
    assert.match(regen.key, /^key_/);
    assert.notEqual(regen.key, app.key);

    await jsRejects(oldClient.applications.retrieveByKey(), 401);
    const fresh = await (await jsClient(regen.key)).applications.retrieveByKey();
    assert.equal(fresh.id, app.id);
  });

  it('deletes an application: it is gone and its key stops working', async () => {
    const bt = await jsClient();
    const app = await bt.applications.create({ name: uniqueName('js delete'), type: 'management', permissions: ['application:read'] });
    created.push(app.id);
    const own = await jsClient(app.key);
    assert.equal((await own.applications.retrieveByKey()).id, app.id);

    assert.equal(await bt.applications.delete(app.id), undefined);
    await jsRejects(bt.applications.retrieve(app.id), 404);
    await jsRejects(own.applications.retrieveByKey(), 401);
    const list = await bt.applications.list({ id: [app.id] });
    assert.deepEqual(list.data, []);
    assert.equal(list.pagination.totalItems, 0);
    await jsRejects(bt.applications.delete(app.id), 404);
  });
});

describe('node-sdk 5.7.0 applications', () => {
  const cases = [
    { label: 'private with permissions', type: 'private', permissions: ['token:create', 'token:read'] },
    {
      label: 'private with access rules',
      type: 'private',
      rules: [
        { description: 'reveal general', priority: 1, container: '/general/', transform: 'reveal', permissions: ['token:read', 'token:create'] },
        { description: 'mask pci', priority: 2, container: '/pci/high/', transform: 'mask', permissions: ['token:read'] },
      ],
    },
    {
      label: 'public with access rules',
      type: 'public',
      rules: [{ description: 'create pci', priority: 1, container: '/pci/', transform: 'redact', permissions: ['token:create'] }],
    },
    { label: 'public with permissions', type: 'public', permissions: ['token:create'] },
    { label: 'management', type: 'management', permissions: ['application:read', 'log:read', 'tenant:read'] },
  ];

  for (const c of cases) {
    it(`creates a ${c.label} application and reads it back`, async () => {
      const bt = nodeClient();
      const name = uniqueName(`node ${c.type}`);
      const app = await bt.applications.create({ name, type: c.type, permissions: c.permissions, rules: c.rules });
      created.push(app.id);

      assert.match(app.id, UUID_RE);
      assert.equal(app.tenantId, mgmtApp.tenantId);
      assert.equal(app.name, name);
      assert.equal(app.type, c.type);
      assert.deepEqual(sorted(app.permissions ?? []), sorted(c.permissions ?? []));
      assert.deepEqual(app.rules ?? [], c.rules ?? []);
      assert.match(app.key, /^key_/);
      assert.equal(app.createdBy, mgmtApp.id);
      assert.ok(app.createdAt instanceof Date && !Number.isNaN(app.createdAt.getTime()));

      const got = await bt.applications.get(app.id);
      assert.equal(got.id, app.id);
      assert.equal(got.name, name);
      assert.equal(got.type, c.type);
      assert.deepEqual(sorted(got.permissions ?? []), sorted(c.permissions ?? []));
      assert.deepEqual(got.rules ?? [], c.rules ?? []);
      assert.equal(got.createdAt.getTime(), app.createdAt.getTime());
    });
  }

  it('creates an application without a key when createKey is false', async () => {
    const bt = nodeClient();
    const app = await bt.applications.create({ name: uniqueName('node nokey'), type: 'private', permissions: ['token:read'], createKey: false });
    created.push(app.id);
    assert.equal(app.key, undefined);
    assert.deepEqual(await bt.applicationKeys.list(app.id), []);
  });

  it('getByKey returns the application owning the calling key', async () => {
    const bt = nodeClient();
    const app = await bt.applications.create({ name: uniqueName('node by-key'), type: 'management', permissions: ['application:read'] });
    created.push(app.id);
    const own = await nodeClient(app.key).applications.getByKey();
    assert.equal(own.id, app.id);
    assert.equal(own.name, app.name);
    assert.deepEqual(own.permissions, ['application:read']);
  });

  it('lists with id/type filters, page/size, and auto-paging', async () => {
    const bt = nodeClient();
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const app = await bt.applications.create({ name: uniqueName(`node list ${i}`), type: 'private', permissions: ['token:read'] });
      created.push(app.id);
      ids.push(app.id);
    }
    const mgmt = await bt.applications.create({ name: uniqueName('node list mgmt'), type: 'management', permissions: ['log:read'] });
    created.push(mgmt.id);

    const page = await bt.applications.list({ id: [...ids, mgmt.id], type: 'private' });
    assert.deepEqual(sorted(page.data.map((a) => a.id)), sorted(ids));
    assert.equal(page.response.pagination.totalItems, 3);
    for (const a of page.data) {
      assert.equal(a.type, 'private');
      assert.ok(a.createdAt instanceof Date);
    }

    const mg = await bt.applications.list({ id: [...ids, mgmt.id], type: 'management' });
    assert.deepEqual(mg.data.map((a) => a.id), [mgmt.id]);

    const p2 = await bt.applications.list({ id: ids, page: 2, size: 2 });
    assert.equal(p2.data.length, 1);
    assert.deepEqual(p2.response.pagination, { totalItems: 3, pageNumber: 2, pageSize: 2, totalPages: 2 });

    // The SDK's pager asks for page+1 until a page comes back empty.
    const seen = [];
    for await (const a of await bt.applications.list({ id: ids, size: 2 })) seen.push(a.id);
    assert.deepEqual(sorted(seen), sorted(ids));
  });

  it('updates name, permissions and rules with PUT', async () => {
    const bt = nodeClient();
    const app = await bt.applications.create({ name: uniqueName('node update'), type: 'private', permissions: ['token:read'] });
    created.push(app.id);
    const name = uniqueName('node updated');
    const rules = [{ description: 'redact all', priority: 1, container: '/', transform: 'redact', permissions: ['token:read'] }];
    const updated = await bt.applications.update(app.id, { name, permissions: ['token:create', 'token:delete'], rules });
    assert.equal(updated.id, app.id);
    assert.equal(updated.name, name);
    assert.equal(updated.type, 'private');
    assert.deepEqual(sorted(updated.permissions), ['token:create', 'token:delete']);
    assert.deepEqual(updated.rules, rules);
    assert.equal(updated.modifiedBy, mgmtApp.id);
    assert.ok(updated.modifiedAt instanceof Date);

    const got = await bt.applications.get(app.id);
    assert.equal(got.name, name);
    assert.deepEqual(sorted(got.permissions), ['token:create', 'token:delete']);
    assert.deepEqual(got.rules, rules);

    // PUT replaces: dropping the rules leaves only the permissions.
    const again = await bt.applications.update(app.id, { name, permissions: ['token:read'] });
    assert.deepEqual(again.permissions, ['token:read']);
    assert.deepEqual(again.rules ?? [], []);
  });

  it('deletes an application: it is gone and its key stops working', async () => {
    const bt = nodeClient();
    const app = await bt.applications.create({ name: uniqueName('node delete'), type: 'management', permissions: ['application:read'] });
    created.push(app.id);
    assert.equal((await nodeClient(app.key).applications.getByKey()).id, app.id);

    assert.equal(await bt.applications.delete(app.id), undefined);
    await nodeRejects(bt.applications.get(app.id), NodeBT.NotFoundError, 404);
    await nodeRejects(nodeClient(app.key).applications.getByKey(), NodeBT.UnauthorizedError, 401);
  });

  it('sees applications created through basis-theory-js, and vice versa', async () => {
    const js = await jsClient();
    const node = nodeClient();
    const a = await js.applications.create({ name: uniqueName('cross js'), type: 'server_to_server', permissions: ['token:general:read:low'] });
    created.push(a.id);
    const b = await node.applications.create({ name: uniqueName('cross node'), type: 'private', permissions: ['token:search'] });
    created.push(b.id);
    const fromNode = await node.applications.get(a.id);
    assert.equal(fromNode.name, a.name);
    assert.equal(fromNode.type, 'server_to_server');
    assert.deepEqual(fromNode.permissions, ['token:general:read:low']);
    const fromJs = await js.applications.retrieve(b.id);
    assert.equal(fromJs.name, b.name);
    assert.equal(fromJs.type, 'private');
    assert.deepEqual(fromJs.permissions, ['token:search']);
  });
});
