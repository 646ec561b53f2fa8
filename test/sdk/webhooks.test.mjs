// Webhooks through node-sdk 5.7.0 `webhooks`: CRUD, event types, ping, and
// deliveries received by a real local HTTP receiver and verified exactly as
// the hosted docs' sample does (crypto.createVerify('SHA256') with
// RSA_PKCS1_PSS_PADDING over json-stable-stringify of the parsed body),
// with the public key `caddy vault webhook-key` printed.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import stringify from 'json-stable-stringify';

import {
  BASE_URL,
  ISO_RE,
  MANAGEMENT_KEY,
  NodeBT,
  UUID_RE,
  assertFieldError,
  cleanupApps,
  failOnSchemaMismatch,
  nodeClient,
  nodeRejects,
  uniqueName,
} from './lib/helpers.mjs';

failOnSchemaMismatch();

const PUBLIC_KEY = process.env.STRONGROOM_WEBHOOK_PUBLIC_KEY ?? '';

// The docs' sample, verbatim in substance.
const verifyWebhook = (webhookRequest) => {
  const body = JSON.parse(webhookRequest.request.body);
  const signature = webhookRequest.request.headers['bt-signature'];
  const verifier = crypto.createVerify('SHA256');
  verifier.update(stringify(body));
  return verifier.verify({ key: PUBLIC_KEY, padding: crypto.constants.RSA_PKCS1_PSS_PADDING }, Buffer.from(signature, 'base64'));
};

const received = [];
let server;
let hookURL;
const apps = [];
const hooks = [];

before(async () => {
  assert.match(PUBLIC_KEY, /BEGIN PUBLIC KEY/, 'STRONGROOM_WEBHOOK_PUBLIC_KEY must hold `vault webhook-key` output');
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ request: { body, headers: req.headers, method: req.method, url: req.url } });
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  hookURL = `http://127.0.0.1:${server.address().port}/hook`;
});
after(async () => {
  const bt = nodeClient();
  for (const id of hooks) await bt.webhooks.delete(id).catch(() => {});
  await cleanupApps(apps);
  server.closeAllConnections(); // the vault keeps its connection alive
  await new Promise((r) => server.close(r));
});

async function waitFor(pred, what) {
  for (let i = 0; i < 200; i++) {
    const hit = received.find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no webhook delivery for ${what}; got ${received.map((r) => r.request.body).join('\n')}`);
}

async function tokenApp() {
  const app = await nodeClient().applications.create({
    name: uniqueName('webhook tokens'),
    type: 'private',
    rules: [{ description: 'all', priority: 1, container: '/', transform: 'reveal', permissions: ['token:create', 'token:read', 'token:update', 'token:delete'] }],
  });
  apps.push(app.id);
  return nodeClient(app.key);
}

describe('node-sdk 5.7.0 webhooks', () => {
  it('creates, gets, lists, updates (PUT) and deletes (204) a webhook', async () => {
    const bt = nodeClient();
    const name = uniqueName('hook');
    const w = await bt.webhooks.create({ name, url: 'https://receiver.example/hook', events: ['token.created'], notifyEmail: 'ops@example.com' });
    hooks.push(w.id);
    assert.match(w.id, UUID_RE);
    assert.match(w.tenantId, UUID_RE);
    assert.equal(w.status, 'enabled');
    assert.equal(w.name, name);
    assert.equal(w.url, 'https://receiver.example/hook');
    assert.equal(w.notifyEmail, 'ops@example.com');
    assert.deepEqual(w.events, ['token.created']);
    assert.match(w.createdBy, UUID_RE);
    assert.ok(w.createdAt instanceof Date);

    assert.equal((await bt.webhooks.get(w.id)).name, name);
    const list = await bt.webhooks.list();
    assert.ok(Array.isArray(list.data) && typeof list.pagination === 'object');
    assert.ok(list.data.some((x) => x.id === w.id));

    const u = await bt.webhooks.update(w.id, { name: `${name} 2`, url: 'https://receiver.example/2', events: ['token.updated', 'token.deleted'] });
    assert.equal(u.name, `${name} 2`);
    assert.deepEqual(u.events, ['token.deleted', 'token.updated']);
    assert.ok(u.modifiedAt instanceof Date);

    const res = await fetch(`${BASE_URL}/webhooks/${w.id}`, { method: 'DELETE', headers: { 'BT-API-KEY': MANAGEMENT_KEY } });
    assert.equal(res.status, 204);
    await nodeRejects(bt.webhooks.get(w.id), NodeBT.NotFoundError, 404);
  });

  it('lists the event types as a bare array of dotted names, and answers ping', async () => {
    const bt = nodeClient();
    const types = await bt.webhooks.events.list();
    assert.ok(Array.isArray(types));
    for (const t of ['token.created', 'token.updated', 'token.deleted']) assert.ok(types.includes(t), t);
    for (const t of types) assert.match(t, /^[a-z_-]+(\.[a-z_-]+)+$/);
    await bt.webhooks.ping();
  });

  it('refuses bad webhooks with a 400 naming the field, and callers without webhooks:* permissions', async () => {
    const bt = nodeClient();
    const e1 = await nodeRejects(bt.webhooks.create({ name: 'x', url: 'ftp://receiver.example/', events: ['token.created'] }), NodeBT.BadRequestError, 400);
    assertFieldError(e1.body, 'url');
    const e2 = await nodeRejects(bt.webhooks.create({ name: 'x', url: 'https://receiver.example/', events: ['token.exploded'] }), NodeBT.BadRequestError, 400);
    assertFieldError(e2.body, 'events');
    const priv = await bt.applications.create({ name: uniqueName('no webhooks'), type: 'private', permissions: ['token:read'] });
    apps.push(priv.id);
    await nodeRejects(nodeClient(priv.key).webhooks.create({ name: 'x', url: 'https://receiver.example/', events: ['token.created'] }), NodeBT.ForbiddenError, 403);
    await nodeRejects(nodeClient(priv.key).webhooks.list(), NodeBT.ForbiddenError, 403);
  });

  it('delivers token.created/updated/deleted, signed as the docs verify, without token data', async () => {
    const bt = nodeClient();
    const w = await bt.webhooks.create({ name: uniqueName('deliveries'), url: hookURL, events: ['token.created', 'token.updated', 'token.deleted'] });
    hooks.push(w.id);
    const tc = await tokenApp();
    const tok = await tc.tokens.create({ type: 'token', data: 'webhook-plaintext-🔒', metadata: { order: '<42>&' } });
    await tc.tokens.update(tok.id, { metadata: { order: '43' } });
    await tc.tokens.delete(tok.id);

    for (const type of ['token.created', 'token.updated', 'token.deleted']) {
      const d = await waitFor((r) => {
        const b = JSON.parse(r.request.body);
        return b.event.type === type && b.event.data.token.id === tok.id;
      }, type);
      assert.equal(d.request.method, 'POST');
      assert.equal(d.request.headers['bt-signature-version'], 'v1');
      assert.ok(verifyWebhook(d), `${type}: the signature does not verify`);
      // A tampered body does not verify.
      const forged = { request: { ...d.request, body: d.request.body.replace(tok.id, crypto.randomUUID()) } };
      assert.equal(verifyWebhook(forged), false);
      assert.ok(!d.request.body.includes('webhook-plaintext'), 'a delivery carries token data');
      const { event, delivered_at } = JSON.parse(d.request.body);
      assert.match(event.id, UUID_RE);
      assert.match(event.tenant_id, UUID_RE);
      assert.equal(event.tenant_id, w.tenantId);
      assert.match(event.trace_id, UUID_RE);
      assert.match(event.timestamp, ISO_RE);
      assert.match(delivered_at, ISO_RE);
      assert.equal(event.data.token.type, 'token');
      assert.equal(event.data.token.data, undefined);
      assert.equal(event.data.actor.type, 'application');
      assert.match(event.data.actor.id, UUID_RE);
      if (type === 'token.created') assert.deepEqual(event.data.token.metadata, { order: '<42>&' });
    }

    // The operator sees every attempt. The receiver has an attempt before
    // the vault records its outcome, so wait (bounded) for the records.
    let page;
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${BASE_URL}/webhooks/${w.id}/deliveries`, { headers: { 'BT-API-KEY': MANAGEMENT_KEY } });
      assert.equal(res.status, 200);
      page = await res.json();
      if (page.data.every((d) => d.status !== 'pending')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(page.data.length, 3);
    for (const d of page.data) {
      assert.equal(d.status, 'delivered');
      assert.equal(d.attempts.length, 1);
      assert.equal(d.attempts[0].status_code, 200);
    }
  });
  it('delivers application, application key, proxy and reactor events with the documented payloads and no secrets', async () => {
    const bt = nodeClient();
    const types = ['application.created', 'application.updated', 'application.deleted', 'application.key.created', 'application.key.deleted',
      'proxy.created', 'proxy.updated', 'proxy.deleted', 'reactor.created', 'reactor.updated', 'reactor.deleted'];
    const listed = await bt.webhooks.events.list();
    for (const t of types) assert.ok(listed.includes(t), `event types lack ${t}`);
    const w = await bt.webhooks.create({ name: uniqueName('entities'), url: hookURL, events: types });
    hooks.push(w.id);

    const secret = `cfg-${crypto.randomUUID()}`;
    const code = `/* ${secret} */ module.exports = async (req) => ({ raw: {} });`;
    const app = await bt.applications.create({ name: uniqueName('evented'), type: 'private', permissions: ['token:read'] });
    apps.push(app.id);
    await bt.applications.update(app.id, { name: `${app.name} 2`, permissions: ['token:read', 'token:create'] });
    const key = await bt.applicationKeys.create(app.id);
    await bt.applicationKeys.delete(app.id, key.id);
    await bt.applications.delete(app.id);
    const proxy = await bt.proxies.create({ name: uniqueName('p'), destinationUrl: 'https://example.com/api',
      requestTransform: { code }, configuration: { SECRET: secret }, requireAuth: true });
    await bt.proxies.update(proxy.id, { name: 'p2', destinationUrl: 'https://example.com/v2', configuration: { SECRET: secret }, requireAuth: false });
    await bt.proxies.delete(proxy.id);
    const reactor = await bt.reactors.create({ name: uniqueName('r'), code, configuration: { SECRET: secret } });
    await bt.reactors.update(reactor.id, { name: 'r2', code, configuration: { SECRET: secret } });
    await bt.reactors.delete(reactor.id);

    const ids = { application: app.id, application_key: key.id, proxy: proxy.id, reactor: reactor.id };
    const data = {};
    for (const type of types) {
      const name = type.startsWith('application.key') ? 'application_key' : type.split('.')[0];
      const d = await waitFor((r) => {
        const b = JSON.parse(r.request.body);
        return b.event.type === type && b.event.data[name]?.id === ids[name];
      }, type);
      assert.ok(verifyWebhook(d), `${type}: the signature does not verify`);
      for (const leak of [secret, app.key, key.key, proxy.key]) assert.ok(!d.request.body.includes(leak), `${type} carries a secret: ${d.request.body}`);
      const { event } = JSON.parse(d.request.body);
      assert.equal(event.tenant_id, w.tenantId);
      assert.equal(event.data.actor.type, 'application');
      data[type] = event.data[name];
    }
    assert.equal(data['application.created'].type, 'private');
    assert.deepEqual([...data['application.updated'].permissions].sort(), ['token:create', 'token:read']);
    assert.match(data['application.updated'].modified_at, ISO_RE);
    assert.deepEqual(data['application.deleted'], { id: app.id });
    assert.equal(data['application.key.created'].application_id, app.id);
    assert.equal(data['proxy.created'].destination_url, 'https://example.com/api');
    assert.equal(data['proxy.created'].require_authentication, true);
    assert.equal(data['proxy.updated'].name, 'p2');
    assert.equal(data['proxy.updated'].require_authentication, false);
    assert.equal(data['proxy.created'].configuration, undefined);
    assert.equal(data['proxy.created'].request_transform, undefined);
    assert.equal(data['reactor.updated'].name, 'r2');
    assert.equal(data['reactor.created'].code, undefined);
    assert.deepEqual(data['reactor.deleted'], { id: reactor.id });
  });
  it('delivers session and token intent events without the session key, its nonce or the intent data', async () => {
    const bt = nodeClient();
    const types = ['session.created', 'session.authorized', 'token-intent.created', 'token-intent.deleted'];
    const w = await bt.webhooks.create({ name: uniqueName('sessions'), url: hookURL, events: types });
    hooks.push(w.id);
    const pub = await bt.applications.create({ name: uniqueName('session issuer'), type: 'public', permissions: ['token:create'] });
    const priv = await bt.applications.create({ name: uniqueName('session granter'), type: 'private', permissions: ['token:read', 'token-intent:create', 'token-intent:delete'] });
    apps.push(pub.id, priv.id);
    const session = await nodeClient(pub.key).sessions.create();
    await nodeClient(priv.key).sessions.authorize({ nonce: session.nonce, permissions: ['token:read'] });
    const intent = await nodeClient(priv.key).tokenIntents.create({ type: 'card', data: { number: '4242424242424242', expiration_month: 12, expiration_year: 2099, cvc: '123' } });
    await nodeClient(priv.key).tokenIntents.delete(intent.id);

    const find = (type, name, id) => waitFor((r) => {
      const b = JSON.parse(r.request.body);
      return b.event.type === type && b.event.data[name]?.id === id;
    }, type);
    const created = await waitFor((r) => {
      const b = JSON.parse(r.request.body);
      return b.event.type === 'session.created' && b.event.data.session?.issued_to_application?.id === pub.id;
    }, 'session.created');
    const authorized = await find('session.authorized', 'session', JSON.parse(created.request.body).event.data.session.id);
    const ic = await find('token-intent.created', 'token_intent', intent.id);
    const id = await find('token-intent.deleted', 'token_intent', intent.id);
    for (const d of [created, authorized, ic, id]) {
      assert.ok(verifyWebhook(d), 'the signature does not verify');
      for (const leak of [session.sessionKey, session.nonce, '4242424242424242', '"cvc"']) assert.ok(!d.request.body.includes(leak), `a delivery carries ${leak}: ${d.request.body}`);
    }
    const s = JSON.parse(created.request.body).event.data.session;
    assert.equal(s.issued_to_application.name, pub.name);
    assert.match(s.expires_at, ISO_RE);
    assert.deepEqual(JSON.parse(authorized.request.body).event.data.session.permissions, ['token:read']);
    const t = JSON.parse(ic.request.body).event.data.token_intent;
    assert.equal(t.type, 'card');
    assert.equal(t.fingerprint, intent.fingerprint);
    assert.equal(t.data, undefined);
  });
});
