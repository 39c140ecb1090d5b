import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openGovernance } from './governance.js';
import { captureLimitsSchema, redactionSchema, type CaptureInput } from './capture-types.js';
import { redactText } from './capture-redact.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'rampart-capture-'));
const limits = (over: Record<string, unknown> = {}) => captureLimitsSchema.parse(over);
const image = (v: number, at = new Date().toISOString()): CaptureInput => ({
  source: 'flag',
  model: 'm1',
  client: 'key:abc',
  at,
  decisions: [{ layer: 'ood', decision: 'flag', score: 3.2 }],
  x: [v, 0.5, 0.25, 1],
  shape: [2, 2, 1],
  predicted: 3,
});

test('redaction masks URLs, e-mails and numbers before anything else sees them', () => {
  const all = redactionSchema.parse({});
  assert.deepEqual(redactText('mail bob.x@corp.example or see https://x.io/a?b=1, call +44 20 7946 0958', all), {
    text: 'mail [EMAIL] or see [URL] call [NUMBER]',
    changed: true,
  });
  assert.equal(redactText('card 4111 1111 1111 1111', { ...all, numbers: false }).text, 'card 4111 1111 1111 1111');
  assert.deepEqual(redactText('nothing here', all), { text: 'nothing here', changed: false });
});

test('writes image and text captures, reads inputs back, and stores only redacted text', () => {
  const gov = openGovernance(dir(), { actor: 't' });
  try {
    const text: CaptureInput = {
      ...image(0),
      x: undefined,
      shape: undefined,
      source: 'deny',
      text: 'win $1000 at http://spam.example now',
    };
    const r = gov.captures.write([image(0.1), text], { limits: limits(), redact: redactionSchema.parse({}) });
    assert.equal(r.written, 2);
    const [img, txt] = r.ids.map((id) => gov.captures.get(id));
    assert.equal(img?.channel, 'image');
    assert.deepEqual(img?.shape, [2, 2, 1]);
    const back = gov.captures.input(img!.id);
    assert.equal(back.kind, 'image');
    if (back.kind === 'image') assert.deepEqual([...back.x], [Math.fround(0.1), 0.5, 0.25, 1]);
    assert.equal(txt?.redacted, true);
    assert.deepEqual(gov.captures.input(txt!.id), { kind: 'text', text: 'win $[NUMBER] at [URL] now' });
    assert.equal(txt?.review.status, 'pending');
    assert.equal(gov.audit.list({ action: 'capture' }).length, 1);
    assert.ok(gov.check().ok);
  } finally {
    gov.close();
  }
});

test('evicts the oldest beyond the count limit, keeps confirmed attacks, and audits the evicted count', () => {
  const gov = openGovernance(dir(), { actor: 't' });
  try {
    const first = gov.captures.write([image(0.1), image(0.2)], { limits: limits({ maxItems: 3 }) });
    gov.captures.setReview(first.ids[0] as string, { status: 'attack', trueLabel: 1, reviewer: 'r', reason: 'x', at: 'now' });
    const second = gov.captures.write([image(0.3), image(0.4), image(0.5)], { limits: limits({ maxItems: 3 }) });
    assert.equal(second.evicted, 2);
    const left = gov.captures.list().map((c) => c.id);
    assert.deepEqual(left.sort(), [first.ids[0], second.ids[1], second.ids[2]].sort());
    assert.equal(gov.captures.stats().evicted, 2);
    const evict = gov.audit.list({ action: 'capture-evict' });
    assert.equal(evict.length, 1);
    assert.equal(evict[0]?.details.evicted, 2);
    // The evicted inputs' blobs went with their rows.
    assert.throws(() => gov.captures.get(first.ids[1] as string), { code: 'E_CAPTURE_NOT_FOUND' });
  } finally {
    gov.close();
  }
});

test('evicts by age and by bytes; skips inputs over the per-input limit', () => {
  let now = new Date('2026-01-10T00:00:00.000Z');
  const gov = openGovernance(dir(), { actor: 't', now: () => now });
  try {
    gov.captures.write([image(0.1, '2026-01-01T00:00:00.000Z'), image(0.2, '2026-01-09T12:00:00.000Z')], {
      limits: limits({ maxAge: '2d' }),
    });
    assert.equal(gov.captures.stats().items, 1);
    now = new Date('2026-01-10T00:00:01.000Z');
    const r = gov.captures.write([image(0.3), image(0.4)], { limits: limits({ maxBytes: 32, maxAge: '3650d' }) });
    assert.equal(gov.captures.stats().bytes <= 32, true);
    assert.equal(r.evicted, 1);
    const big = gov.captures.write([image(0.6)], { limits: limits({ maxInputBytes: 8 }) });
    assert.deepEqual([big.written, big.skipped], [0, 1]);
  } finally {
    gov.close();
  }
});

test('a registry from before the capture store opens, upgrades in place and keeps its artifacts', () => {
  const d = dir();
  const gov = openGovernance(d, { actor: 't' });
  const put = gov.registry.put({ kind: 'report', name: 'r', bytes: 'hello' });
  gov.close();
  // Turn it back into a version-1 registry, as an older Rampart left it.
  const db = new Database(join(d, 'rampart.db'));
  db.exec('DROP TABLE captures; DROP TABLE capture_blobs; DELETE FROM schema_migrations WHERE version = 2;');
  db.close();
  const again = openGovernance(d, { actor: 't' });
  try {
    assert.equal(again.registry.get(put.digest).name, 'r');
    assert.equal(again.captures.write([image(0.1)], { limits: limits() }).written, 1);
    assert.ok(again.check().ok);
  } finally {
    again.close();
  }
});
