// List filters through both pinned SDKs: every query parameter they send is
// read, and anything else (node-sdk's requestOptions.queryParams, or a key
// basis-theory-js's PaginatedQuery index signature lets through) is a 400
// naming it, never a wider list.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { BasisTheoryError, assertFieldError, cleanupApps, failOnSchemaMismatch, jsClient, jsRejects, nodeClient, nodeRejects, uniqueName } from './lib/helpers.mjs';
import { CURRENT_ALL, makeApp, tag } from './lib/tokens.mjs';

failOnSchemaMismatch();

const created = [];
let priv;
before(async () => {
  priv = await makeApp(created, { type: 'private', permissions: CURRENT_ALL, label: 'filters' });
});
after(() => cleanupApps(created));

describe('list filters', () => {
  it('node-sdk 5.7.0 lists with every parameter they take', async () => {
    const bt = nodeClient();
    const app = await bt.applications.create({ name: uniqueName('filters'), type: 'private', permissions: ['token:read'] });
    created.push(app.id);
    const apps = await bt.applications.list({ id: app.id, type: 'private', page: 1, size: 5 });
    assert.deepEqual(apps.data.map((a) => a.id), [app.id]);
    assert.equal((await bt.applicationKeys.list(app.id, { id: 'no-such-key' })).length, 0);
    assert.equal((await bt.applicationKeys.list(app.id, { type: 'private' })).length, 1);
    await bt.proxies.list({ id: app.id, name: 'x', page: 1, size: 5 });
    await bt.reactors.list({ id: app.id, name: 'x', page: 1, size: 5 });
    await bt.logs.list({ entityType: 'application', entityId: app.id, startDate: new Date(0), endDate: new Date(), page: 1, size: 5 });
    const t = tag('flt');
    const tc = nodeClient(priv.key);
    await tc.tokens.create({ type: 'token', data: 'x', metadata: { tag: t } });
    const page = await tc.tokens.listV2({ type: 'token', metadata: { tag: t }, size: 5 });
    assert.equal(page.data.length, 1);
  });

  it('node-sdk: an unknown query parameter is a 400 naming it', async () => {
    const bt = nodeClient();
    for (const call of [
      (o) => bt.applications.list({}, o),
      (o) => bt.proxies.list({}, o),
      (o) => bt.reactors.list({}, o),
      (o) => bt.logs.list({}, o),
      (o) => bt.webhooks.list(o),
      (o) => bt.keys.list(o),
      (o) => nodeClient(priv.key).tokens.listV2({}, o),
    ]) {
      // node-sdk declares no 400 for lists: it raises its base error class.
      const err = await nodeRejects(call({ queryParams: { colour: 'red' }, maxRetries: 0 }), BasisTheoryError, 400);
      assertFieldError(err.body, 'colour');
    }
  });

  it('basis-theory-js 1.22.2: its list queries are read; a key it lets through unchecked is a 400', async () => {
    const t = tag('flt-js');
    const bt = await jsClient(priv.key);
    await bt.tokens.create({ type: 'token', data: 'y', metadata: { tag: t } });
    const list = await bt.tokens.list({ metadata: { tag: t }, type: 'token', page: 1, size: 5 });
    assert.equal(list.data.length, 1);
    const err = await jsRejects(bt.tokens.list({ metadata: { tag: t }, colour: 'red' }), 400);
    assertFieldError(err.data, 'colour');
    const mgmt = await jsClient();
    await mgmt.logs.list({ entityType: 'token', startDate: new Date(0).toISOString(), page: 1, size: 5 });
    await mgmt.reactorFormulas.list({ name: 'x', page: 1, size: 5 });
    const err2 = await jsRejects(mgmt.applications.list({ tenant: 'other' }), 400);
    assertFieldError(err2.data, 'tenant');
  });
});
