import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RampartError } from '../../core/errors.js';
import { emailToText, parseEmail } from './email.js';
import { loadJsonlTexts } from './jsonl.js';
import { loadCsvTexts } from './csv.js';
import { dedupeTexts, sampleTexts, splitTextDataset, type TextDataset } from './text-dataset.js';
import { loadSpamAssassin } from './spam-assassin.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-text-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function errorCode(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RampartError, `expected a RampartError, got ${String(error)}`);
    return { code: error.code, message: error.message };
  }
  assert.fail('expected an error');
}

test('parseEmail keeps the subject and body, drops routing headers, decodes MIME', () => {
  const raw = [
    'From spammer@example.com  Thu Aug 22 13:17:22 2002',
    'Received: from mx.example.com',
    'X-Spam-Status: Yes, hits=12.3',
    'Subject: =?iso-8859-1?Q?Caf=E9_deals?=',
    '  for you',
    'Content-Type: multipart/alternative; boundary="XYZ"',
    '',
    'preamble',
    '--XYZ',
    'Content-Type: text/html; charset=iso-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<html><style>p{}</style><p>Cheap <b>pills</b> =E0 vendre&nbsp;now &amp; =',
    'here</p></html>',
    '--XYZ',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('Plain version: café').toString('base64'),
    '--XYZ--',
  ].join('\n');
  const parsed = parseEmail(raw);
  assert.equal(parsed.subject, 'Café deals for you');
  assert.equal(parsed.body, 'Plain version: café');
  assert.ok(!emailToText(raw).includes('X-Spam'));
  const htmlOnly =
    'Subject: Hi\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<p>Cheap <b>pills</b> =E0 now &amp; =\nhere</p><script>x()</script>';
  assert.equal(parseEmail(htmlOnly).body, 'Cheap pills à now & here');
});

test('SpamAssassin loads deterministically, deduplicated, with both classes', () => {
  const ds = loadSpamAssassin();
  assert.equal(ds.stats.messages, 6046);
  assert.equal(ds.texts.length, 6046 - ds.stats.empty - ds.stats.duplicates);
  assert.ok(ds.stats.duplicates > 0, 'the corpus holds re-sent messages');
  const spam = ds.labels.filter((l) => l === 1).length;
  assert.ok(spam > 1700 && spam < 1896, `spam count ${spam}`);
  assert.deepEqual(ds.classes, ['ham', 'spam']);
  // Only messages that quote another message in their body may show routing headers.
  const withHeaders = ds.texts.filter((t) => /^(Received|Return-Path|Delivered-To): /m.test(t.slice(0, 300))).length;
  assert.ok(withHeaders < 5, `routing headers are dropped (${withHeaders} texts show some)`);
  assert.ok(ds.texts[0]?.startsWith('Re: New Sequences Window\n\n'), 'the subject leads the text');
  assert.equal(new Set(dedupeTexts(ds).dataset.texts).size, ds.texts.length);
  const spamOnly = loadSpamAssassin({ groups: ['spam-1'], maxChars: 300 });
  assert.ok(spamOnly.labels.every((l) => l === 1) && spamOnly.texts.every((t) => t.length <= 300));
  assert.equal(errorCode(() => loadSpamAssassin({ groups: ['spam-3' as 'spam-1'] })).code, 'E_UNKNOWN_GROUP');
});

test('splitTextDataset is stratified, disjoint and seeded', () => {
  const ds: TextDataset = {
    name: 'toy',
    texts: Array.from({ length: 100 }, (_, i) => `text ${i}`),
    labels: Array.from({ length: 100 }, (_, i) => (i < 70 ? 0 : 1)),
    classes: ['a', 'b'],
  };
  const a = splitTextDataset(ds, { seed: 3, fractions: { train: 0.6, validation: 0.2, test: 0.2 } });
  const b = splitTextDataset(ds, { seed: 3, fractions: { train: 0.6, validation: 0.2, test: 0.2 } });
  assert.deepEqual(a.test.texts, b.test.texts);
  assert.equal(a.train.texts.length + a.validation.texts.length + a.test.texts.length, 100);
  assert.equal(new Set([...a.train.texts, ...a.validation.texts, ...a.test.texts]).size, 100);
  assert.equal(a.test.labels.filter((l) => l === 1).length, 6);
  assert.notDeepEqual(splitTextDataset(ds, { seed: 4 }).test.texts, a.test.texts);
  assert.equal(
    errorCode(() => splitTextDataset(ds, { seed: 1, fractions: { train: 0.5, validation: 0.1, test: 0.1 } })).code,
    'E_SPLIT_FRACTIONS',
  );
  const sample = sampleTexts(ds, 20, 1);
  assert.equal(sample.texts.length, 20);
  assert.equal(sample.labels.filter((l) => l === 1).length, 6);
  const dup = dedupeTexts({ ...ds, texts: ['Hello,  World!', 'hello world', 'other'], labels: [0, 1, 0] });
  assert.equal(dup.removed, 1);
  assert.equal(dup.conflicting, 1);
});

test('JSONL loader reads records and names bad lines and labels', () => {
  withDir((dir) => {
    const good = join(dir, 'good.jsonl');
    writeFileSync(good, '{"text":"buy now","label":"spam"}\n\n{"text":"see you at lunch","label":"ham"}\n');
    const ds = loadJsonlTexts(good);
    assert.deepEqual(ds.classes, ['ham', 'spam']);
    assert.deepEqual(ds.labels, [1, 0]);
    assert.equal(ds.name, 'good.jsonl');

    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"text":"a","label":"spam"}\n{"text":"b", label: ham}\n');
    const e1 = errorCode(() => loadJsonlTexts(bad));
    assert.equal(e1.code, 'E_DATA_LINE');
    assert.match(e1.message, /line 2/);

    writeFileSync(bad, '{"text":"a","label":"spam"}\n{"body":"b","label":"ham"}\n');
    assert.match(errorCode(() => loadJsonlTexts(bad)).message, /line 2 has no string field 'text'/);

    writeFileSync(bad, '{"text":"a","label":"spam"}\n{"text":"b","label":"phish"}\n');
    const e3 = errorCode(() => loadJsonlTexts(bad, { classes: ['ham', 'spam'] }));
    assert.equal(e3.code, 'E_UNKNOWN_LABEL');
    assert.match(e3.message, /line 2: unknown label 'phish'; expected 'ham' or 'spam'/);

    assert.equal(errorCode(() => loadJsonlTexts(join(dir, 'nope.jsonl'))).code, 'E_DATA_MISSING');
  });
});

test('CSV loader handles quotes, embedded newlines and names bad rows', () => {
  withDir((dir) => {
    const good = join(dir, 'good.csv');
    writeFileSync(good, 'id,label,text\r\n1,spam,"WIN, now ""free"""\r\n2,ham,"line one\nline two"\r\n3,ham,plain\r\n');
    const ds = loadCsvTexts(good);
    assert.deepEqual(ds.texts, ['WIN, now "free"', 'line one\nline two', 'plain']);
    assert.deepEqual(ds.labels, [1, 0, 0]);

    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'text,label\na,spam\n"b\nc",ham\nd\n');
    const e1 = errorCode(() => loadCsvTexts(bad));
    assert.equal(e1.code, 'E_DATA_LINE');
    assert.match(e1.message, /line 5 has 1 fields/);

    writeFileSync(bad, 'body,label\na,spam\n');
    assert.equal(errorCode(() => loadCsvTexts(bad)).code, 'E_CSV_HEADER');
    assert.equal(loadCsvTexts(good, { classes: ['ham', 'spam', 'phish'] }).classes.length, 3);
    writeFileSync(bad, 'text,label\na,spam\nb,phish\n');
    assert.match(errorCode(() => loadCsvTexts(bad, { classes: ['ham', 'spam'] })).message, /line 3: unknown label 'phish'/);
    writeFileSync(bad, 'text,label\n"never closed,spam\n');
    assert.match(errorCode(() => loadCsvTexts(bad)).message, /line 2: a quoted field is never closed/);
  });
});
