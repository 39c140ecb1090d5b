import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RampartError } from '../../core/errors.js';
import { dataSourceSchema, dataSpecString, parseDataSpec, toDataSourceSpec } from './spec.js';

function hasCode(code: string, ...mentions: string[]) {
  return (error: unknown): boolean =>
    error instanceof RampartError && error.code === code && mentions.every((m) => error.message.includes(m));
}

test('parseDataSpec reads every string form', () => {
  assert.equal(parseDataSpec('mnist'), 'mnist');
  assert.deepEqual(parseDataSpec('idx:a.gz,b.gz'), { kind: 'idx', images: 'a.gz', labels: 'b.gz' });
  assert.deepEqual(parseDataSpec('folder:imgs/'), { kind: 'folder', path: 'imgs/' });
  assert.deepEqual(parseDataSpec('npy:x.npy,y.npy'), { kind: 'npy', x: 'x.npy', y: 'y.npy' });
  assert.deepEqual(parseDataSpec('npz:d.npz'), { kind: 'npz', path: 'd.npz' });
  assert.deepEqual(parseDataSpec('csv:data/t.csv'), { kind: 'csv', path: 'data/t.csv' });
});

test('parseDataSpec reads options after ? with the object form types', () => {
  assert.deepEqual(parseDataSpec('folder:imgs?resize=28x32&channels=1&maxFiles=10'), {
    kind: 'folder',
    path: 'imgs',
    resize: [28, 32],
    channels: 1,
    maxFiles: 10,
  });
  assert.deepEqual(parseDataSpec('csv:t.csv?labelColumn=species&ignoreColumns=id,date&bounds=0,10&delimiter=tab'), {
    kind: 'csv',
    path: 't.csv',
    labelColumn: 'species',
    ignoreColumns: ['id', 'date'],
    bounds: { min: 0, max: 10 },
    delimiter: '\t',
  });
  assert.deepEqual(parseDataSpec('npz:d.npz?xKey=x_test&yKey=y_test&scale=true'), {
    kind: 'npz',
    path: 'd.npz',
    xKey: 'x_test',
    yKey: 'y_test',
    scale: true,
  });
  assert.deepEqual(parseDataSpec('npy:x.npy,y.npy?scale=127.5'), { kind: 'npy', x: 'x.npy', y: 'y.npy', scale: 127.5 });
});

test('unknown kinds: E_UNKNOWN_DATASET listing the forms', () => {
  for (const text of ['cifar10', '', 'parquet:x', 'mnist:x']) {
    assert.throws(() => parseDataSpec(text), hasCode('E_UNKNOWN_DATASET', 'folder:DIR', 'csv:FILE'), text);
  }
});

test('known kinds with wrong files or options: E_DATASET_SPEC naming the problem', () => {
  assert.throws(() => parseDataSpec('idx:only-one'), hasCode('E_DATASET_SPEC', 'idx:IMAGES,LABELS'));
  assert.throws(() => parseDataSpec('npy:x.npy'), hasCode('E_DATASET_SPEC', 'npy:X.npy,Y.npy'));
  assert.throws(() => parseDataSpec('npy:x.npy,'), hasCode('E_DATASET_SPEC'));
  assert.throws(() => parseDataSpec('csv:'), hasCode('E_DATASET_SPEC'));
  assert.throws(() => parseDataSpec('folder:a,b'), hasCode('E_DATASET_SPEC', 'folder:DIR'));
  assert.throws(() => parseDataSpec('folder:imgs?channels=2'), hasCode('E_DATASET_SPEC', 'channels'));
  assert.throws(() => parseDataSpec('folder:imgs?resize=0x5'), hasCode('E_DATASET_SPEC', 'resize'));
  assert.throws(() => parseDataSpec('folder:imgs?colour=rgb'), hasCode('E_DATASET_SPEC', 'colour'));
  assert.throws(() => parseDataSpec('folder:imgs?resize'), hasCode('E_DATASET_SPEC', 'key=value'));
  assert.throws(() => parseDataSpec('csv:t.csv?bounds=5,1'), hasCode('E_DATASET_SPEC', 'bounds'));
});

test('dataSourceSchema accepts the string and the object form alike', () => {
  assert.deepEqual(dataSourceSchema.parse('csv:t.csv?labelColumn=y'), { kind: 'csv', path: 't.csv', labelColumn: 'y' });
  assert.deepEqual(dataSourceSchema.parse({ kind: 'csv', path: 't.csv', labelColumn: 'y' }), {
    kind: 'csv',
    path: 't.csv',
    labelColumn: 'y',
  });
  assert.deepEqual(dataSourceSchema.parse({ kind: 'folder', path: 'i', resize: [8, 8], channels: 3 }), {
    kind: 'folder',
    path: 'i',
    resize: [8, 8],
    channels: 3,
  });
  assert.equal(dataSourceSchema.parse('mnist'), 'mnist');
  const bad = dataSourceSchema.safeParse('folder:i?channels=2');
  assert.equal(bad.success, false);
  assert.equal(dataSourceSchema.safeParse({ kind: 'folder', path: 'i', extra: 1 }).success, false);
  assert.equal(dataSourceSchema.safeParse({ kind: 'csv' }).success, false);
});

test('toDataSourceSpec checks objects from plans and model records', () => {
  assert.deepEqual(toDataSourceSpec({ kind: 'idx', images: 'a', labels: 'b' }), { kind: 'idx', images: 'a', labels: 'b' });
  assert.equal(toDataSourceSpec({ kind: 'mnist' }), 'mnist');
  assert.throws(() => toDataSourceSpec({ kind: 'idx', images: 'a' }), hasCode('E_DATASET_SPEC', 'labels'));
  assert.throws(() => toDataSourceSpec({ kind: 'hdf5', path: 'a' }), hasCode('E_UNKNOWN_DATASET'));
  assert.throws(() => toDataSourceSpec(null), hasCode('E_UNKNOWN_DATASET'));
  assert.throws(() => toDataSourceSpec(42), hasCode('E_UNKNOWN_DATASET'));
});

test('dataSpecString gives the string form back, options in a fixed order', () => {
  const texts = [
    'mnist',
    'idx:a,b',
    'folder:imgs?channels=1&resize=28x28',
    'npz:d.npz?scale=true&xKey=xs',
    'csv:t.csv?ignoreColumns=id,ts&labelColumn=y',
  ];
  for (const text of texts) assert.equal(dataSpecString(parseDataSpec(text)), text);
  assert.equal(dataSpecString({ kind: 'folder', path: 'p', resize: [4, 5], channels: 3 }), 'folder:p?channels=3&resize=4x5');
  assert.equal(dataSpecString({ kind: 'csv', path: 'p', bounds: { min: -1, max: 1 } }), 'csv:p?bounds=-1,1');
});
