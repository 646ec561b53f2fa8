// Error responses (seed 001 "Errors", contract §1.4) as each SDK surfaces
// them: basis-theory-js throws BasisTheoryApiError{status, data}; node-sdk
// maps 400/401/403/404 to BadRequestError/UnauthorizedError/ForbiddenError/
// NotFoundError with the RFC 7807 body.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import {
  NodeBT,
  assertFieldError,
  cleanupApps,
  failOnSchemaMismatch,
  jsClient,
  jsRejects,
  nodeClient,
  nodeRejects,
  uniqueName,
} from './lib/helpers.mjs';

failOnSchemaMismatch();

const created = [];
after(() => cleanupApps(created));

const MISSING = '3f1b7c4e-0000-4000-8000-000000000000';

describe('401 for a bad key', () => {
  it('basis-theory-js', async () => {
    const bt = await jsClient('key_bogus1234567890');
    await jsRejects(bt.applications.list(), 401);
    await jsRejects(bt.applications.retrieveByKey(), 401);
    await jsRejects(bt.applications.create({ name: 'x', type: 'private', permissions: ['token:read'] }), 401);
  });

  it('node-sdk', async () => {
    const bt = nodeClient('key_bogus1234567890');
    await nodeRejects(bt.applications.list(), NodeBT.UnauthorizedError, 401);
    await nodeRejects(bt.applications.get(MISSING), NodeBT.UnauthorizedError, 401);
    await nodeRejects(bt.applications.create({ name: 'x', type: 'private', permissions: ['token:read'] }), NodeBT.UnauthorizedError, 401);
  });

  it('node-sdk with an empty key', async () => {
    await nodeRejects(nodeClient('').applications.list(), NodeBT.UnauthorizedError, 401);
  });
});

describe('403 for a key without the permission', () => {
  it('a private application key listing applications', async () => {
    const mgmt = nodeClient();
    const priv = await mgmt.applications.create({ name: uniqueName('err private'), type: 'private', permissions: ['token:create', 'token:read'] });
    created.push(priv.id);

    const js = await jsClient(priv.key);
    await jsRejects(js.applications.list(), 403);
    await jsRejects(js.applications.create({ name: 'x', type: 'private', permissions: ['token:read'] }), 403);
    await jsRejects(js.applications.delete(priv.id), 403);

    const node = nodeClient(priv.key);
    await nodeRejects(node.applications.list(), NodeBT.ForbiddenError, 403);
    await nodeRejects(node.applications.get(priv.id), NodeBT.ForbiddenError, 403);
    await nodeRejects(node.applications.update(priv.id, { name: 'x', permissions: ['token:read'] }), NodeBT.ForbiddenError, 403);

    // Nothing was changed by the refused calls.
    const still = await mgmt.applications.get(priv.id);
    assert.equal(still.name, priv.name);
  });

  it('a management key lacking application:create', async () => {
    const mgmt = nodeClient();
    const ro = await mgmt.applications.create({ name: uniqueName('err readonly'), type: 'management', permissions: ['application:read'] });
    created.push(ro.id);
    await nodeRejects(
      nodeClient(ro.key).applications.create({ name: 'x', type: 'private', permissions: ['token:read'] }),
      NodeBT.ForbiddenError,
      403,
    );
    await jsRejects((await jsClient(ro.key)).applications.regenerateKey(ro.id), 403);
    // Reading is allowed.
    assert.equal((await nodeClient(ro.key).applications.get(ro.id)).id, ro.id);
  });
});

describe('404 for an unknown id', () => {
  it('basis-theory-js', async () => {
    const bt = await jsClient();
    await jsRejects(bt.applications.retrieve(MISSING), 404);
    await jsRejects(bt.applications.update(MISSING, { name: 'x', permissions: ['token:general:create'] }), 404);
    await jsRejects(bt.applications.regenerateKey(MISSING), 404);
    await jsRejects(bt.applications.delete(MISSING), 404);
  });

  it('node-sdk', async () => {
    const bt = nodeClient();
    await nodeRejects(bt.applications.get(MISSING), NodeBT.NotFoundError, 404);
    await nodeRejects(bt.applications.update(MISSING, { name: 'x', permissions: ['token:read'] }), NodeBT.NotFoundError, 404);
    await nodeRejects(bt.applications.delete(MISSING), NodeBT.NotFoundError, 404);
  });
});

describe('400 with an errors map naming the field', () => {
  it('basis-theory-js: missing name', async () => {
    const bt = await jsClient();
    const err = await jsRejects(bt.applications.create({ type: 'server_to_server', permissions: ['token:general:create'] }), 400);
    assertFieldError(err.data, 'name');
  });

  it('basis-theory-js: invalid permission', async () => {
    const bt = await jsClient();
    const err = await jsRejects(
      bt.applications.create({ name: uniqueName('err perm'), type: 'server_to_server', permissions: ['token:general:create', 'not:a:permission'] }),
      400,
    );
    assertFieldError(err.data, 'permissions');
    assert.ok(!('name' in err.data.errors));
  });

  it('basis-theory-js: a management permission on a public application', async () => {
    const bt = await jsClient();
    const err = await jsRejects(bt.applications.create({ name: uniqueName('err perm type'), type: 'public', permissions: ['application:read'] }), 400);
    assertFieldError(err.data, 'permissions');
  });

  it('basis-theory-js: invalid type', async () => {
    const bt = await jsClient();
    const err = await jsRejects(bt.applications.create({ name: uniqueName('err type'), type: 'superuser', permissions: ['token:general:create'] }), 400);
    assertFieldError(err.data, 'type');
  });

  it('basis-theory-js: update with an invalid permission leaves the application unchanged', async () => {
    const bt = await jsClient();
    const app = await bt.applications.create({ name: uniqueName('err update'), type: 'server_to_server', permissions: ['token:general:create'] });
    created.push(app.id);
    const err = await jsRejects(bt.applications.update(app.id, { name: 'renamed', permissions: ['bogus'] }), 400);
    assertFieldError(err.data, 'permissions');
    const got = await bt.applications.retrieve(app.id);
    assert.equal(got.name, app.name);
    assert.deepEqual(got.permissions, ['token:general:create']);
  });

  it('node-sdk: empty name', async () => {
    // node-sdk validates `name: string` client-side, so an empty string is the
    // way to reach the server's own check.
    const err = await nodeRejects(
      nodeClient().applications.create({ name: '', type: 'private', permissions: ['token:read'] }),
      NodeBT.BadRequestError,
      400,
    );
    assertFieldError(err.body, 'name');
  });

  it('node-sdk: name longer than 200 characters', async () => {
    const err = await nodeRejects(
      nodeClient().applications.create({ name: 'n'.repeat(201), type: 'private', permissions: ['token:read'] }),
      NodeBT.BadRequestError,
      400,
    );
    assertFieldError(err.body, 'name');
  });

  it('node-sdk: invalid permission', async () => {
    const err = await nodeRejects(
      nodeClient().applications.create({ name: uniqueName('err perm'), type: 'private', permissions: ['token:read', 'token:teleport'] }),
      NodeBT.BadRequestError,
      400,
    );
    assertFieldError(err.body, 'permissions');
  });

  it('node-sdk: neither permissions nor rules', async () => {
    const err = await nodeRejects(
      nodeClient().applications.create({ name: uniqueName('err empty'), type: 'private', permissions: [] }),
      NodeBT.BadRequestError,
      400,
    );
    assert.ok(Object.keys(err.body.errors ?? {}).length > 0, JSON.stringify(err.body));
  });

  it('node-sdk: invalid access rule names the rule field', async () => {
    const err = await nodeRejects(
      nodeClient().applications.create({
        name: uniqueName('err rule'),
        type: 'private',
        rules: [{ description: 'bad', priority: 1, container: '/pci/', transform: 'explode', permissions: ['token:read'] }],
      }),
      NodeBT.BadRequestError,
      400,
    );
    assertFieldError(err.body, 'rules');
  });

  it('node-sdk: update with empty name', async () => {
    const bt = nodeClient();
    const app = await bt.applications.create({ name: uniqueName('err node update'), type: 'private', permissions: ['token:read'] });
    created.push(app.id);
    const err = await nodeRejects(bt.applications.update(app.id, { name: '', permissions: ['token:read'] }), NodeBT.BadRequestError, 400);
    assertFieldError(err.body, 'name');
    assert.equal((await bt.applications.get(app.id)).name, app.name);
  });
});
