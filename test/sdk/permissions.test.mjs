// GET /permissions (seeds 001 and 004): a bare array of
// {type, description, application_types}, optionally filtered by
// application_type.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { NodeBT, failOnSchemaMismatch, jsClient, jsRejects, nodeClient, nodeRejects } from './lib/helpers.mjs';

failOnSchemaMismatch();

const MANAGEMENT = [
  'tenant:read', 'tenant:update', 'tenant:delete',
  'application:read', 'application:create', 'application:update', 'application:delete',
  'log:read', 'report:read',
  'reactor:read', 'reactor:create', 'reactor:update', 'reactor:delete',
  'proxy:read', 'proxy:create', 'proxy:update', 'proxy:delete',
];

function byType(list) {
  const m = new Map();
  for (const p of list) {
    assert.equal(m.has(p.type), false, `duplicate permission ${p.type}`);
    m.set(p.type, p);
  }
  return m;
}

describe('basis-theory-js 1.22.2 permissions.list', () => {
  it('returns every permission with its application types', async () => {
    const bt = await jsClient();
    const list = await bt.permissions.list();
    assert.ok(Array.isArray(list), 'GET /permissions/ must be a bare array');
    const perms = byType(list);
    for (const p of list) {
      assert.equal(typeof p.type, 'string');
      assert.ok(p.description.length > 0, `${p.type} has no description`);
      assert.ok(Array.isArray(p.applicationTypes) && p.applicationTypes.length > 0);
    }
    for (const t of MANAGEMENT) {
      assert.ok(perms.has(t), `missing ${t}`);
      assert.ok(perms.get(t).applicationTypes.includes('management'), `${t} not for management`);
    }
    // Seed 001's classification permissions for server_to_server apps.
    for (const c of ['general', 'bank', 'pci', 'pii']) {
      for (const op of ['create', 'read:low', 'read:moderate', 'read:high', 'update', 'delete', 'use:proxy', 'use:reactor']) {
        const t = `token:${c}:${op}`;
        assert.ok(perms.has(t), `missing ${t}`);
        assert.ok(perms.get(t).applicationTypes.includes('server_to_server'), `${t} not for server_to_server`);
      }
      assert.ok(perms.get(`token:${c}:create`).applicationTypes.includes('public'));
      assert.ok(perms.get(`token:${c}:create`).applicationTypes.includes('elements'));
    }
  });

  it('is refused without a valid key', async () => {
    const bt = await jsClient('key_not_a_real_key');
    await jsRejects(bt.permissions.list(), 401);
  });
});

describe('node-sdk 5.7.0 permissions.list', () => {
  it('returns every permission unfiltered', async () => {
    const list = await nodeClient().permissions.list();
    const perms = byType(list);
    for (const t of [...MANAGEMENT, 'token:create', 'token:read', 'token:update', 'token:delete', 'token:search', 'token:use']) {
      assert.ok(perms.has(t), `missing ${t}`);
    }
    assert.deepEqual(perms.get('token:read').applicationTypes.includes('private'), true);
    assert.deepEqual(perms.get('application:read').applicationTypes, ['management']);
  });

  it('filters by application_type=management', async () => {
    const list = await nodeClient().permissions.list({ applicationType: 'management' });
    const perms = byType(list);
    for (const t of MANAGEMENT) assert.ok(perms.has(t), `missing ${t}`);
    for (const p of list) assert.ok(p.applicationTypes.includes('management'), `${p.type} is not a management permission`);
    for (const t of ['token:read', 'token:create', 'token:general:create']) assert.ok(!perms.has(t), `${t} listed for management`);
  });

  it('filters by application_type=private', async () => {
    const list = await nodeClient().permissions.list({ applicationType: 'private' });
    const perms = byType(list);
    for (const t of ['token:create', 'token:read', 'token:update', 'token:delete', 'token:search', 'token:use']) {
      assert.ok(perms.has(t), `missing ${t}`);
    }
    for (const t of MANAGEMENT) assert.ok(!perms.has(t), `${t} listed for private`);
  });

  it('filters by application_type=public', async () => {
    const list = await nodeClient().permissions.list({ applicationType: 'public' });
    const perms = byType(list);
    assert.ok(perms.has('token:create'));
    assert.ok(perms.has('token:update'));
    for (const t of ['token:read', 'token:delete', 'token:search', 'application:read']) assert.ok(!perms.has(t), `${t} listed for public`);
  });

  it('is refused without a valid key', async () => {
    await nodeRejects(nodeClient('key_not_a_real_key').permissions.list(), NodeBT.UnauthorizedError, 401);
  });
});
