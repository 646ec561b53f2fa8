// The proxy as each SDK generation's users call it (seed 001 "Proxy",
// wire contract §4.3, §5):
//  - basis-theory-js 1.22.2 has no proxy client: its users called
//    `/proxy` with fetch, BT-API-KEY and BT-PROXY-URL, next to tokens made
//    with `bt.tokens.create`, under v1 `token:<class>:use:proxy` keys;
//  - @basis-theory/node-sdk 5.7.0 manages pre-configured proxies
//    (`proxies.create/get/list/update/patch/delete`) and has no invocation
//    client either: the proxy is invoked with fetch and BT-PROXY-KEY (or
//    ?bt-proxy-key=), under current `proxy:invoke` keys and access rules.
// The destination is a node http server on 127.0.0.1 (the Go runner starts
// the vault with STRONGROOM_ALLOW_INSECURE_DESTINATIONS=true).

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';

import {
  BASE_URL,
  ISO_RE,
  NodeBT,
  UUID_RE,
  assertFieldError,
  assertProblem,
  cleanupApps,
  failOnSchemaMismatch,
  jsClient,
  nodeClient,
  nodeRejects,
  uniqueName,
} from './lib/helpers.mjs';
import { CURRENT_ALL, makeApp } from './lib/tokens.mjs';

failOnSchemaMismatch();

// ------------------------------------------------------------ upstream

const received = [];
const upstream = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    if (req.url.startsWith('/echo')) {
      // The request body back, as a PSP that echoes the card would.
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Upstream': 'node' });
      res.end(Buffer.concat(chunks));
      return;
    }
    const status = Number(req.headers['x-reply-status'] ?? 200);
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Upstream': 'node' });
    res.end(status === 204 ? undefined : JSON.stringify({ upstream: 'node', status }));
  });
});
let UP = '';

/** The requests received since the last call. */
const take = () => received.splice(0);

/** Asserts exactly one request reached the upstream and returns it. */
function one(what) {
  const got = take();
  assert.equal(got.length, 1, `${what}: upstream received ${got.length} requests`);
  return got[0];
}

/** Asserts nothing reached the upstream. */
function none(what) {
  const got = take();
  assert.equal(got.length, 0, `${what}: ${got.length} request(s) reached the upstream: ${JSON.stringify(got[0])}`);
}

/** A raw proxy call: {status, headers, text, body}. */
async function proxy({ method = 'POST', path = '/proxy', key, url, proxyKey, headers = {}, body } = {}) {
  const h = { ...headers };
  if (key !== undefined) h['BT-API-KEY'] = key;
  if (url !== undefined) h['BT-PROXY-URL'] = url;
  if (proxyKey !== undefined) h['BT-PROXY-KEY'] = proxyKey;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(BASE_URL + path, { method, headers: h, body: payload, redirect: 'manual' });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** Asserts a 200 from the upstream and returns the request it received. */
async function proxyOk(call, what) {
  const r = await proxy(call);
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.headers.get('bt-proxy-destination-status'), '200', what);
  assert.equal(r.headers.get('x-upstream'), 'node', what);
  assert.deepEqual(r.body, { upstream: 'node', status: 200 }, what);
  return one(what);
}

/** Asserts `{"proxy_error": <RFC 7807>}` with status and nothing sent on;
 * returns the inner problem. */
async function proxyFails(call, status, what) {
  const r = await proxy(call);
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.headers.get('bt-proxy-destination-status'), null, `${what}: answered as if from the destination`);
  assert.equal(typeof r.body, 'object', `${what}: ${r.text}`);
  assert.deepEqual(Object.keys(r.body ?? {}), ['proxy_error'], `${what}: ${r.text}`);
  assertProblem(r.body.proxy_error, status);
  none(what);
  return r.body.proxy_error;
}

// ------------------------------------------------------------ fixtures

const created = [];
const CARD = { number: '4242424242424242', expiration_month: 11, expiration_year: 2030, cvc: '123' };

before(async () => {
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  UP = `http://127.0.0.1:${upstream.address().port}`;
});
after(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
  await cleanupApps(created);
});
beforeEach(() => take());

// ------------------------------------------------------------ basis-theory-js

describe('basis-theory-js 1.22.2 era: ephemeral /proxy with fetch', () => {
  let v1; // server_to_server: create and use:proxy for general and pci
  let generalOnly;
  let general;
  let card;

  before(async () => {
    v1 = await makeApp(created, {
      label: 'proxy v1',
      permissions: ['token:general:create', 'token:pci:create', 'token:general:use:proxy', 'token:pci:use:proxy'],
    });
    generalOnly = await makeApp(created, { label: 'proxy v1 general', permissions: ['token:general:use:proxy'] });
    const bt = await jsClient(v1.key);
    general = await bt.tokens.create({ type: 'token', data: 'sensitive data' });
    card = await bt.tokens.create({ type: 'card', data: CARD });
    assert.match(general.id, UUID_RE);
  });

  it('forwards the seed example with the token replaced', async () => {
    const body = `{"parameter1":"{{${general.id}}}","parameter2":"non-interpolated"}`;
    const got = await proxyOk({ key: v1.key, url: `${UP}/api`, body }, 'seed example');
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/api');
    assert.equal(got.body, '{"parameter1":"sensitive data","parameter2":"non-interpolated"}');
    for (const h of Object.keys(got.headers)) assert.ok(!h.startsWith('bt-'), `control header ${h} forwarded`);
    assert.equal(got.headers['content-type'], 'application/json');
  });

  it('appends the path and query under /proxy for every method', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const body = ['GET', 'DELETE'].includes(method) ? undefined : { card: `{{ ${card.id} | json: '$.number' }}` };
      const got = await proxyOk({ method, path: '/proxy/foo/bar?param=value', key: v1.key, url: `${UP}/api/`, body }, method);
      assert.equal(got.method, method);
      assert.equal(got.url, '/api/foo/bar?param=value');
      assert.equal(got.body, body ? '{"card":"4242424242424242"}' : '');
    }
  });

  it('keeps numbers in strings as strings and embeds objects', async () => {
    const body = `{"card":"{{ ${card.id} }}","month":"{{ ${card.id} | json: '$.expiration_month' }}","amount":10.00}`;
    const got = await proxyOk({ key: v1.key, url: UP, body }, 'embed');
    const month = got.body.slice(got.body.indexOf('"month"'));
    assert.equal(month, '"month":"11","amount":10.00}');
    assert.deepEqual(JSON.parse(got.body).card, CARD);
  });

  it('passes the destination status, headers and body through', async () => {
    for (const status of [201, 400, 500]) {
      const r = await proxy({ key: v1.key, url: UP, body: {}, headers: { 'X-Reply-Status': String(status) } });
      one(`status ${status}`);
      assert.equal(r.status, status);
      assert.equal(r.headers.get('bt-proxy-destination-status'), String(status));
      assert.equal(r.headers.get('x-upstream'), 'node');
      assert.deepEqual(r.body, { upstream: 'node', status });
    }
  });

  it('needs token:<classification>:use:proxy for each token used', async () => {
    await proxyOk({ key: generalOnly.key, url: UP, body: { v: `{{ ${general.id} }}` } }, 'general key, general token');
    await proxyFails({ key: generalOnly.key, url: UP, body: { v: `{{ ${card.id} }}` } }, 403, 'general key, pci token');
    await proxyFails({ key: generalOnly.key, url: UP, body: { a: `{{ ${general.id} }}`, b: `{{ ${card.id} }}` } }, 403, 'general key, both');
  });

  it('answers its own errors as proxy_error', async () => {
    const p = await proxyFails({ key: v1.key, body: { v: 1 } }, 400, 'no BT-PROXY-URL');
    assert.match(JSON.stringify(p), /BT-PROXY-URL/i);
    const missing = '2b5f0b4e-8d7e-4f53-9a51-3b0fbb2c6a11';
    const nf = await proxyFails({ key: v1.key, url: UP, body: { v: `{{ ${missing} }}` } }, 400, 'unknown token');
    assert.match(nf.detail, new RegExp(`^Failed to detokenize some tokens: .*${missing}`));
    await proxyFails({ url: UP, body: { v: `{{ ${general.id} }}` } }, 401, 'no API key');
    await proxyFails({ key: 'key_nope', url: UP, body: {} }, 401, 'bad API key');
  });

  it('refuses an invalid BT-PROXY-URL with a 400 proxy_error', async () => {
    for (const url of ['not a url', 'ftp://127.0.0.1/', `http://user:pw@${UP.slice('http://'.length)}/`]) {
      await proxyFails({ key: v1.key, url, body: { v: `{{ ${general.id} }}` } }, 400, `BT-PROXY-URL ${url}`);
    }
  });
});

// ------------------------------------------------------------ node-sdk

describe('node-sdk 5.7.0: pre-configured proxies', () => {
  let writer; // private, every current token permission
  let invoker; // private, proxy:invoke + token:use
  let card;
  let general;

  before(async () => {
    writer = await makeApp(created, { type: 'private', permissions: CURRENT_ALL, label: 'proxy writer' });
    invoker = await makeApp(created, { type: 'private', permissions: ['proxy:invoke', 'token:use'], label: 'proxy invoker' });
    const c = nodeClient(writer.key);
    card = await c.tokens.create({ type: 'card', data: CARD });
    general = await c.tokens.create({ type: 'token', data: 'general value' });
  });

  it('creates, reads, lists, updates, patches and deletes proxies', async () => {
    const c = nodeClient();
    const name = uniqueName('sdk proxy');
    const px = await c.proxies.create({
      name,
      destinationUrl: `${UP}/base`,
      configuration: { psp_key: 'sk_test_1', region: 'eu' },
      requireAuth: true,
    });
    assert.match(px.id, UUID_RE);
    assert.equal(typeof px.key, 'string');
    assert.ok(px.key.length >= 8);
    assert.match(px.tenantId, UUID_RE);
    assert.equal(px.name, name);
    assert.equal(px.destinationUrl, `${UP}/base`);
    assert.equal(px.requireAuth, true);
    assert.deepEqual(px.configuration, { psp_key: 'sk_test_1', region: 'eu' });
    assert.ok(px.createdAt instanceof Date, `createdAt ${px.createdAt}`);
    assert.match(px.createdAt.toISOString(), ISO_RE);
    assert.match(px.createdBy, UUID_RE);

    const got = await c.proxies.get(px.id);
    for (const f of ['id', 'key', 'tenantId', 'name', 'destinationUrl', 'requireAuth', 'configuration']) {
      assert.deepEqual(got[f], px[f], f);
    }

    const byName = await c.proxies.list({ name });
    assert.deepEqual(byName.data.map((p) => p.id), [px.id]);
    const byId = await c.proxies.list({ id: px.id });
    assert.deepEqual(byId.data.map((p) => p.id), [px.id]);

    const put = await c.proxies.update(px.id, {
      name: `${name} v2`,
      destinationUrl: `${UP}/v2`,
      configuration: { psp_key: 'sk_test_2' },
      requireAuth: true,
    });
    assert.equal(put.key, px.key, 'PUT keeps the key');
    assert.equal(put.name, `${name} v2`);
    assert.deepEqual(put.configuration, { psp_key: 'sk_test_2' });
    assert.ok(put.modifiedAt instanceof Date);

    assert.equal(await c.proxies.patch(px.id, { name: `${name} v3` }), undefined);
    const patched = await c.proxies.get(px.id);
    assert.equal(patched.name, `${name} v3`);
    assert.equal(patched.destinationUrl, `${UP}/v2`);
    assert.deepEqual(patched.configuration, { psp_key: 'sk_test_2' });
    assert.equal(patched.requireAuth, true);

    await c.proxies.delete(px.id);
    await nodeRejects(c.proxies.get(px.id), NodeBT.NotFoundError, 404);
    assert.deepEqual((await c.proxies.list({ name })).data, []);
    none('managing proxies');
  });

  it('validates proxies and checks the proxy permissions', async () => {
    const c = nodeClient();
    let err = await nodeRejects(c.proxies.create({ name: 'x', destinationUrl: 'not a url' }), NodeBT.BadRequestError, 400);
    assertFieldError(err.body, 'destination_url');
    err = await nodeRejects(c.proxies.create({ name: '', destinationUrl: UP }), NodeBT.BadRequestError, 400);
    assertFieldError(err.body, 'name');
    err = await nodeRejects(c.proxies.create({ name: 'x'.repeat(201), destinationUrl: UP }), NodeBT.BadRequestError, 400);
    assertFieldError(err.body, 'name');

    const reader = await makeApp(created, { type: 'management', permissions: ['proxy:read'], label: 'proxy reader' });
    const other = await makeApp(created, { type: 'management', permissions: ['application:read'], label: 'no proxy perms' });
    await nodeRejects(nodeClient(reader.key).proxies.create({ name: 'denied', destinationUrl: UP }), NodeBT.ForbiddenError, 403);
    const px = await c.proxies.create({ name: uniqueName('perm proxy'), destinationUrl: UP });
    assert.equal((await nodeClient(reader.key).proxies.get(px.id)).id, px.id);
    await nodeRejects(nodeClient(other.key).proxies.get(px.id), NodeBT.ForbiddenError, 403);
    await nodeRejects(nodeClient(reader.key).proxies.patch(px.id, { name: 'n' }), NodeBT.ForbiddenError, 403);
    await nodeRejects(nodeClient(reader.key).proxies.delete(px.id), NodeBT.ForbiddenError, 403);
    await c.proxies.delete(px.id);
  });

  it('invokes a proxy with BT-PROXY-KEY, detokenizing every expression form', async () => {
    const px = await nodeClient().proxies.create({ name: uniqueName('invoke'), destinationUrl: `${UP}/base` });
    const body =
      `{"number":"{{ token: ${card.id} | json: '$.data.number' }}",` +
      `"last4":"{{ ${card.id} | json: '$.number' | last4 }}",` +
      `"exp":"{{ ${card.id} | json: '$.expiration_month' | pad_left: 2, '0' }}/{{ ${card.id} | json: '$.expiration_year' }}",` +
      `"note":"{{${general.id}}}","amount":1.50}`;
    const got = await proxyOk(
      { path: '/proxy/charges?x=1', key: invoker.key, proxyKey: px.key, url: 'http://127.0.0.1:9/ignored', body },
      'BT-PROXY-KEY',
    );
    assert.equal(got.url, '/base/charges?x=1');
    assert.equal(got.body, '{"number":"4242424242424242","last4":"4242","exp":"11/2030","note":"general value","amount":1.50}');
    assert.ok(!JSON.stringify(got.headers).includes(px.key), 'the proxy key reached the destination');

    await proxyFails({ proxyKey: px.key, body: {} }, 401, 'require_auth without a key');
    const reader = await makeApp(created, { type: 'private', permissions: ['token:read'], label: 'no invoke' });
    await proxyFails({ key: reader.key, proxyKey: px.key, body: {} }, 403, 'require_auth without proxy:invoke');
    await nodeClient().proxies.delete(px.id);
    await proxyFails({ key: invoker.key, proxyKey: px.key, body: {} }, 401, 'deleted proxy');
  });

  it('invokes an open proxy anonymously with ?bt-proxy-key=', async () => {
    const px = await nodeClient().proxies.create({ name: uniqueName('webhook'), destinationUrl: `${UP}/hook`, requireAuth: false });
    assert.equal(px.requireAuth, false);
    const got = await proxyOk({ path: `/proxy/in?bt-proxy-key=${px.key}&event=paid`, body: { ok: true } }, 'anonymous');
    assert.equal(got.url, '/hook/in?event=paid');
    assert.equal(got.body, '{"ok":true}');
    await nodeClient().proxies.delete(px.id);
  });

  it('runs a request transform in code before forwarding', async () => {
    const px = await nodeClient().proxies.create({
      name: uniqueName('transform'),
      destinationUrl: UP,
      requestTransform: { code: "module.exports = async (req) => ({ body: Object.assign({}, req.args.body, { stamped: true }), headers: req.args.headers });" },
    });
    assert.equal(px.requestTransform?.code?.startsWith('module.exports'), true);
    const got = await proxyOk({ key: invoker.key, proxyKey: px.key, body: { a: 1 } }, 'code transform');
    assert.deepEqual(JSON.parse(got.body), { a: 1, stamped: true });
    await nodeClient().proxies.delete(px.id);
  });

  it('runs requestTransforms and responseTransforms in order, masking the answer', async () => {
    const step = (name) =>
      `module.exports = async (req) => ({ body: Object.assign({}, req.args.body, { steps: (req.args.body.steps || []).concat('${name}') }), headers: req.args.headers });`;
    const px = await nodeClient().proxies.create({
      name: uniqueName('transform lists'),
      destinationUrl: `${UP}/echo`,
      requestTransforms: [{ type: 'code', code: step('a') }, { code: step('b') }],
      responseTransforms: [{ type: 'mask', matcher: 'regex', expression: '"pan":"(\\d{12})\\d{4}"', replacement: '*' }],
    });
    assert.equal(px.requestTransforms?.length, 2);
    assert.equal(px.responseTransforms?.[0]?.expression, '"pan":"(\\d{12})\\d{4}"');
    const r = await proxy({ key: invoker.key, proxyKey: px.key, body: { pan: `{{ ${card.id} | json: '$.number' }}` } });
    assert.equal(r.status, 200, r.text);
    const got = one('transform lists');
    assert.deepEqual(JSON.parse(got.body), { pan: '4242424242424242', steps: ['a', 'b'] });
    assert.equal(r.text, '{"pan":"************4242","steps":["a","b"]}');

    // What this server cannot run is refused when saved, naming the entry.
    const err = await nodeRejects(
      nodeClient().proxies.create({ name: uniqueName('append'), destinationUrl: UP, responseTransforms: [{ type: 'append_json', options: { value: '{}' } }] }),
      NodeBT.BadRequestError,
      400,
    );
    assertFieldError(err.body, 'response_transforms[0].type');
    await nodeClient().proxies.delete(px.id);
  });

  it('forwards expressions untouched with disableDetokenization', async () => {
    const px = await nodeClient().proxies.create({ name: uniqueName('no detok'), destinationUrl: UP, disableDetokenization: true });
    assert.equal(px.disableDetokenization, true);
    const body = `{"pan":"{{ ${card.id} }}"}`;
    const got = await proxyOk({ key: invoker.key, proxyKey: px.key, body }, 'disableDetokenization');
    assert.equal(got.body, body);
    await nodeClient().proxies.delete(px.id);
  });

  it('lets access rules decide which tokens an ephemeral proxy call may use', async () => {
    const pci = await makeApp(created, {
      type: 'private',
      label: 'pci proxy',
      permissions: ['proxy:invoke'],
      rules: [{ description: 'pci', priority: 1, container: '/pci/', transform: 'reveal', permissions: ['token:use'] }],
    });
    const got = await proxyOk({ key: pci.key, url: UP, body: { n: `{{ ${card.id} | json: '$.number' }}` } }, 'pci rule, card');
    assert.equal(got.body, '{"n":"4242424242424242"}');
    await proxyFails({ key: pci.key, url: UP, body: { g: `{{ ${general.id} }}` } }, 403, 'pci rule, general token');
  });
});
