// Application keys (seed 002) through node-sdk 5.7.0 `applicationKeys`.
//
// Shape of GET /applications/{id}/keys: seed 002 shows a paginated object,
// the wire contract a bare array. node-sdk 5.7.0 decides:
// dist/cjs/api/resources/applicationKeys/client/Client.js `__list` parses a
// 2xx body with serializers.applicationKeys.list.Response, which is
// dist/cjs/serialization/resources/applicationKeys/client/list.js =
// `core.serialization.list(ApplicationKey)`.
//  - bare array: each item is mapped (created_by -> createdBy, created_at ->
//    Date) and the call resolves to ApplicationKey[].
//  - paginated object: core/schemas/builders/list/list.js fails with
//    "Expected list. Received object." and, because parseOrThrow
//    (schema-utils/getSchemaUtils.js) runs the unwrapped parse, the
//    `skipValidation: true` option does not rescue it: the call REJECTS with
//    a ParseError (not a BasisTheoryError).
// So the server must answer with a bare array; this file asserts that.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  MANAGEMENT_KEY,
  NodeBT,
  UUID_RE,
  cleanupApps,
  failOnSchemaMismatch,
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

async function newApp(bt, label) {
  const app = await bt.applications.create({ name: uniqueName(label), type: 'management', permissions: ['application:read'] });
  created.push(app.id);
  return app;
}

describe('node-sdk 5.7.0 applicationKeys', () => {
  it('creates, lists, gets and deletes keys; a deleted key is refused at once', async () => {
    const bt = nodeClient();
    const app = await newApp(bt, 'keys lifecycle');
    const firstKey = app.key;

    // The application's first key is listed.
    const initial = await bt.applicationKeys.list(app.id);
    assert.ok(Array.isArray(initial), 'GET /applications/{id}/keys must be a bare array for node-sdk');
    assert.equal(initial.length, 1);
    assert.match(initial[0].id, UUID_RE);
    assert.equal(initial[0].key, undefined, 'list must not reveal key secrets');
    assert.ok(initial[0].createdAt instanceof Date);
    const firstKeyId = initial[0].id;

    // A second key.
    const k2 = await bt.applicationKeys.create(app.id);
    assert.match(k2.id, UUID_RE);
    assert.notEqual(k2.id, firstKeyId);
    assert.match(k2.key, /^key_/);
    assert.notEqual(k2.key, firstKey);
    assert.equal(k2.createdBy, mgmtApp.id);
    assert.ok(k2.createdAt instanceof Date && !Number.isNaN(k2.createdAt.getTime()));

    const listed = await bt.applicationKeys.list(app.id);
    assert.deepEqual(sorted(listed.map((k) => k.id)), sorted([firstKeyId, k2.id]));
    for (const k of listed) assert.equal(k.key, undefined);

    const got = await bt.applicationKeys.get(app.id, k2.id);
    assert.equal(got.id, k2.id);
    assert.equal(got.key, undefined, 'get must not reveal the key secret');
    assert.equal(got.createdBy, mgmtApp.id);
    assert.equal(got.createdAt.getTime(), k2.createdAt.getTime());

    // Both keys authenticate as the application.
    assert.equal((await nodeClient(firstKey).applications.getByKey()).id, app.id);
    assert.equal((await nodeClient(k2.key).applications.getByKey()).id, app.id);

    // Delete the second key: refused immediately; the first keeps working.
    assert.equal(await bt.applicationKeys.delete(app.id, k2.id), undefined);
    await nodeRejects(nodeClient(k2.key).applications.getByKey(), NodeBT.UnauthorizedError, 401);
    assert.equal((await nodeClient(firstKey).applications.getByKey()).id, app.id);
    await nodeRejects(bt.applicationKeys.get(app.id, k2.id), NodeBT.NotFoundError, 404);
    await nodeRejects(bt.applicationKeys.delete(app.id, k2.id), NodeBT.NotFoundError, 404);
    assert.deepEqual((await bt.applicationKeys.list(app.id)).map((k) => k.id), [firstKeyId]);
  });

  it('deleting the original key leaves a newer key working', async () => {
    const bt = nodeClient();
    const app = await newApp(bt, 'keys rotate');
    const [orig] = await bt.applicationKeys.list(app.id);
    const k2 = await bt.applicationKeys.create(app.id);
    await bt.applicationKeys.delete(app.id, orig.id);
    await nodeRejects(nodeClient(app.key).applications.getByKey(), NodeBT.UnauthorizedError, 401);
    assert.equal((await nodeClient(k2.key).applications.getByKey()).id, app.id);
  });

  it('keys of one application are not reachable through another', async () => {
    const bt = nodeClient();
    const a = await newApp(bt, 'keys a');
    const b = await newApp(bt, 'keys b');
    const [ka] = await bt.applicationKeys.list(a.id);
    await nodeRejects(bt.applicationKeys.get(b.id, ka.id), NodeBT.NotFoundError, 404);
    await nodeRejects(bt.applicationKeys.delete(b.id, ka.id), NodeBT.NotFoundError, 404);
    assert.equal((await nodeClient(a.key).applications.getByKey()).id, a.id);
  });

  it('answers 404 for an unknown application', async () => {
    const bt = nodeClient();
    const missing = '00000000-0000-4000-8000-000000000000';
    await nodeRejects(bt.applicationKeys.list(missing), NodeBT.NotFoundError, 404);
    await nodeRejects(bt.applicationKeys.get(missing, missing), NodeBT.NotFoundError, 404);
    await nodeRejects(bt.applicationKeys.delete(missing, missing), NodeBT.NotFoundError, 404);
    // POST has no 404 case in node-sdk: any other status is a BasisTheoryError.
    let err;
    await assert.rejects(bt.applicationKeys.create(missing), (e) => ((err = e), true));
    assert.equal(err.statusCode, 404);
  });

  it('deleting the application revokes every key', async () => {
    const bt = nodeClient();
    const app = await newApp(bt, 'keys app delete');
    const k2 = await bt.applicationKeys.create(app.id);
    await bt.applications.delete(app.id);
    await nodeRejects(nodeClient(app.key).applications.getByKey(), NodeBT.UnauthorizedError, 401);
    await nodeRejects(nodeClient(k2.key).applications.getByKey(), NodeBT.UnauthorizedError, 401);
  });

  it('follows seed 002 permissions: read lists and gets, create/delete need more', async () => {
    const bt = nodeClient();
    const target = await newApp(bt, 'keys target');
    const [tk] = await bt.applicationKeys.list(target.id);
    const ro = await newApp(bt, 'keys reader'); // application:read only
    const rc = nodeClient(ro.key);
    assert.deepEqual((await rc.applicationKeys.list(target.id)).map((k) => k.id), [tk.id]);
    assert.equal((await rc.applicationKeys.get(target.id, tk.id)).id, tk.id);
    await nodeRejects(rc.applicationKeys.create(target.id), NodeBT.ForbiddenError, 403); // application:create
    await nodeRejects(rc.applicationKeys.delete(target.id, tk.id), NodeBT.ForbiddenError, 403); // application:delete
    assert.equal((await nodeClient(target.key).applications.getByKey()).id, target.id);
  });

  it('needs application permissions: a private key gets 403', async () => {
    const bt = nodeClient();
    const priv = await bt.applications.create({ name: uniqueName('keys private'), type: 'private', permissions: ['token:read'] });
    created.push(priv.id);
    const pc = nodeClient(priv.key);
    await nodeRejects(pc.applicationKeys.list(priv.id), NodeBT.ForbiddenError, 403);
    await nodeRejects(pc.applicationKeys.create(priv.id), NodeBT.ForbiddenError, 403);
    // The management key is untouched by all of this.
    assert.equal((await nodeClient(MANAGEMENT_KEY).applications.getByKey()).id, mgmtApp.id);
  });
});
