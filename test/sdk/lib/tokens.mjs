// Shared fixtures for the token test files: applications holding token
// permissions (the management key of the suite holds none), a plain-fetch
// client for what neither SDK can send, and the seed-001 test data.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { BASE_URL, assertFieldError, nodeClient, uniqueName } from './helpers.mjs';

export const CLASSES = ['general', 'bank', 'pci', 'pii'];

/** Every v1 token permission at the plaintext read level. */
export const V1_ALL = CLASSES.flatMap((c) => [
  `token:${c}:create`,
  `token:${c}:read:high`,
  `token:${c}:update`,
  `token:${c}:delete`,
]);

/** Every current token permission, granted on the whole tenant. */
export const CURRENT_ALL = ['token:create', 'token:read', 'token:update', 'token:delete', 'token:search'];

/** Creates an application through node-sdk and returns {id, key}; the id
 * is pushed to created for cleanupApps. */
export async function makeApp(created, { type = 'server_to_server', permissions, rules, label = 'tok' }) {
  const app = await nodeClient().applications.create({ name: uniqueName(label), type, permissions, rules });
  created.push(app.id);
  assert.match(app.key, /^key_/);
  return { id: app.id, key: app.key };
}

/** A raw HTTP call: returns {status, body (parsed JSON or text or null),
 * headers}. */
export async function api(method, path, { key, body, contentType = 'application/json', rawBody } = {}) {
  const headers = {};
  if (key !== undefined) headers['BT-API-KEY'] = key;
  let payload;
  if (rawBody !== undefined) {
    payload = rawBody;
    headers['Content-Type'] = contentType;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = contentType;
  }
  const res = await fetch(BASE_URL + path, { method, headers, body: payload });
  const text = await res.text();
  let parsed = null;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

/** basis-theory-js deep camel-cases error bodies too, so its `errors` keys
 * arrive as `dataNumber` for `data.number` (camelcase-keys). */
export const jsFieldName = (field) => field.replace(/[._\s-]+(.)/g, (_, c) => c.toUpperCase());

/** assertFieldError for an error body as basis-theory-js hands it over. */
export const assertJsFieldError = (body, field) => assertFieldError(body, jsFieldName(field).toLowerCase());

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A value unique to this run, for data and metadata. */
export const tag = (prefix = 'v') => `${prefix}-${randomUUID()}`;

/** A container unique to this run. */
export const uniqueContainer = (prefix = 'sdk') => `/${prefix}-${randomUUID().slice(0, 8)}/`;

// Seed 001 "Token Types": defaults, and masked values for the examples.
export const TYPES = {
  token: { data: 'Sensitive Value', privacy: ['general', 'high', 'redact'], container: '/general/high/' },
  card_number: { data: '4242424242424242', privacy: ['pci', 'high', 'mask'], container: '/pci/high/', mask: 'XXXXXXXXXXXX4242' },
  us_bank_account_number: { data: '1234567890', privacy: ['bank', 'high', 'mask'], container: '/bank/high/', mask: 'XXXXXX7890' },
  us_bank_routing_number: { data: '021000021', privacy: ['bank', 'low', 'redact'], container: '/bank/low/' },
  social_security_number: { data: '123-45-6789', privacy: ['pii', 'high', 'mask'], container: '/pii/high/', mask: 'XXX-XX-6789' },
  card: {
    data: { number: '4242424242424242', expiration_month: 12, expiration_year: 2030, cvc: '123' },
    privacy: ['pci', 'high', 'mask'],
    container: '/pci/high/',
    mask: { number: 'XXXXXXXXXXXX4242', expiration_month: 12, expiration_year: 2030 },
  },
  bank: {
    data: { routing_number: '021000021', account_number: '1234567890' },
    privacy: ['bank', 'high', 'mask'],
    container: '/bank/high/',
    mask: { routing_number: '021000021', account_number: 'XXXXXX7890' },
  },
};

/** The privacy object of a [classification, impact, policy] triple, as
 * both SDKs spell it (camelCase). */
export const privacyOf = ([classification, impactLevel, restrictionPolicy]) => ({ classification, impactLevel, restrictionPolicy });

const randDigits = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');

/** A random Luhn-valid 16-digit card number (Visa range), so fingerprint
 * and deduplication tests never meet another file's tokens. */
export function randomCardNumber(prefix = '4') {
  const body = prefix + randDigits(15 - prefix.length);
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

/** A random social security number formatted ddd-dd-dddd. */
export const randomSsn = () => `${randDigits(3)}-${randDigits(2)}-${randDigits(4)}`;
