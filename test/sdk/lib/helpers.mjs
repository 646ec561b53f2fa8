// Shared plumbing for the SDK conformance tests: the server under test, the
// two official SDK generations pointed at it, and assertion helpers.
//
// The server is named by STRONGROOM_BASE_URL (http://localhost:<port>) and
// STRONGROOM_MANAGEMENT_KEY (a key of a management application holding every
// management permission). basis-theory-js 1.22.2 forces https unless the
// hostname is literally `localhost`, so the base URL must use `localhost`.
// STRONGROOM_JS_BASE_URL, when set, points basis-theory-js at another node
// of the same cluster (one SDK per node: each checks what the other wrote).

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach } from 'node:test';

import { BasisTheory as NodeBT, BasisTheoryClient, BasisTheoryError } from '@basis-theory/node-sdk';

const require = createRequire(import.meta.url);
const { BasisTheory: BasisTheoryJs } = require('@basis-theory/basis-theory-js');

export const BASE_URL = process.env.STRONGROOM_BASE_URL ?? '';
export const MANAGEMENT_KEY = process.env.STRONGROOM_MANAGEMENT_KEY ?? '';
const JS_BASE_URL = process.env.STRONGROOM_JS_BASE_URL || BASE_URL;

if (!BASE_URL || !MANAGEMENT_KEY) {
  throw new Error('STRONGROOM_BASE_URL and STRONGROOM_MANAGEMENT_KEY must be set');
}
{
  const u = new URL(JS_BASE_URL);
  if (u.protocol === 'http:' && u.hostname !== 'localhost') {
    throw new Error(
      `STRONGROOM_BASE_URL must use the host "localhost" over http (basis-theory-js 1.22.2 rewrites any other host to https): ${JS_BASE_URL}`,
    );
  }
}

export { NodeBT, BasisTheoryError };

/** A basis-theory-js 1.22.2 client (v1-era API). */
export async function jsClient(apiKey = MANAGEMENT_KEY) {
  return new BasisTheoryJs().init(apiKey, { apiBaseUrl: JS_BASE_URL });
}

/** A @basis-theory/node-sdk 5.7.0 client (current API). Retries are off so a
 * 5xx from the server shows up as itself rather than after back-off. */
export function nodeClient(apiKey = MANAGEMENT_KEY) {
  return new BasisTheoryClient({ apiKey, baseUrl: BASE_URL, maxRetries: 0, timeoutInSeconds: 30 });
}

/** A name unique to this run, so concurrent test files never collide. */
export function uniqueName(prefix) {
  return `${prefix} ${randomUUID().slice(0, 8)}`;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The ISO 8601 shape every timestamp of the API must have. */
export const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

// node-sdk parses responses with skipValidation: a field whose value does not
// match the SDK's schema is handed to the caller raw under its snake_case
// key (so the tests assert camelCase fields and Date-typed timestamps), and a
// nested list that fails is passed through after a console.warn("Failed to
// validate. ..."). Every test fails if such a warning appears: it means the
// server sent a shape the SDK does not understand.
const validationWarnings = [];
const realWarn = console.warn;
console.warn = (...args) => {
  const msg = args.map(String).join(' ');
  if (msg.startsWith('Failed to validate')) validationWarnings.push(msg);
  realWarn(...args);
};

/** Registers the per-test check against node-sdk schema mismatches. Call at
 * the top level of each test file. */
export function failOnSchemaMismatch() {
  beforeEach(() => {
    validationWarnings.length = 0;
  });
  afterEach(() => {
    const got = validationWarnings.splice(0);
    assert.deepEqual(got, [], `node-sdk could not parse a response:\n${got.join('\n')}`);
  });
}

/** Asserts that promise rejects with a basis-theory-js BasisTheoryApiError of
 * the given HTTP status carrying an RFC 7807 body; returns the error. */
export async function jsRejects(promise, status) {
  let err;
  await assert.rejects(promise, (e) => {
    err = e;
    return true;
  });
  assert.equal(err.name, 'BasisTheoryApiError', `expected BasisTheoryApiError, got ${err?.stack ?? err}`);
  assert.equal(err.status, status, `expected HTTP ${status}, got ${err.status}: ${JSON.stringify(err.data)}`);
  assertProblem(err.data, status);
  return err;
}

/** Asserts that promise rejects with the node-sdk error class for status
 * (e.g. NodeBT.NotFoundError); returns the error. */
export async function nodeRejects(promise, ErrorClass, status) {
  let err;
  await assert.rejects(promise, (e) => {
    err = e;
    return true;
  });
  assert.ok(
    err instanceof ErrorClass,
    `expected ${ErrorClass.name}, got ${err?.constructor?.name}: ${err?.message ?? err}`,
  );
  assert.ok(err instanceof BasisTheoryError);
  assert.equal(err.statusCode, status);
  assertProblem(err.body, status);
  return err;
}

/** RFC 7807 problem details: status matches, title is a string, errors (if
 * present) maps field names to arrays of messages. */
export function assertProblem(body, status) {
  assert.equal(typeof body, 'object', `problem body is not JSON: ${body}`);
  assert.ok(body !== null);
  assert.equal(body.status, status, `problem.status: ${JSON.stringify(body)}`);
  assert.equal(typeof body.title, 'string', `problem.title: ${JSON.stringify(body)}`);
  if (body.errors !== undefined) {
    assert.equal(typeof body.errors, 'object');
    for (const [k, v] of Object.entries(body.errors)) {
      assert.ok(Array.isArray(v), `errors.${k} is not an array`);
      for (const m of v) assert.equal(typeof m, 'string');
    }
  }
}

/** The keys of a problem's `errors` map that name field (exactly, or an
 * element/member of it such as `permissions[0]`). */
export function errorKeysFor(body, field) {
  const keys = Object.keys(body?.errors ?? {});
  return keys.filter((k) => k.toLowerCase() === field || k.toLowerCase().startsWith(`${field}[`) || k.toLowerCase().startsWith(`${field}.`));
}

/** Asserts the problem's errors map names field, with a non-empty message. */
export function assertFieldError(body, field) {
  const keys = errorKeysFor(body, field);
  assert.ok(keys.length > 0, `errors does not name "${field}": ${JSON.stringify(body)}`);
  for (const k of keys) assert.ok(body.errors[k].length > 0 && body.errors[k][0].length > 0);
}

/** Deletes applications created by a test, ignoring ones already gone. */
export async function cleanupApps(ids) {
  const c = nodeClient();
  for (const id of ids.splice(0)) {
    try {
      await c.applications.delete(id);
    } catch (e) {
      if (!(e instanceof NodeBT.NotFoundError)) throw e;
    }
  }
}

/** Sorted copy, for order-insensitive comparisons. */
export const sorted = (a) => [...a].sort();
