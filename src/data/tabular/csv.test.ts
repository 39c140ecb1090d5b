import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { RampartError } from '../../core/errors.js';
import { loadCsvTable, type CsvTableOptions } from './csv.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let made = 0;

function csv(text: string): string {
  const path = join(dir, `t${made++}.csv`);
  writeFileSync(path, text);
  return path;
}

function hasCode(code: string, ...mentions: string[]) {
  return (error: unknown): boolean =>
    error instanceof RampartError && error.code === code && mentions.every((m) => error.message.includes(m));
}

test('named labels: sorted class names, feature names and per-feature bounds kept', () => {
  const path = csv('height,weight,kind\n1.5,60,dog\n0.3,4,cat\n"2",-1e1,dog\n\n');
  const { dataset, digests } = loadCsvTable(path, { labelColumn: 'kind' });
  assert.deepEqual(dataset.shape, [2]);
  assert.deepEqual(dataset.featureNames, ['height', 'weight']);
  assert.deepEqual(dataset.classNames, ['cat', 'dog']);
  assert.deepEqual([...dataset.y], [1, 0, 1]);
  assert.deepEqual([...dataset.x], [1.5, 60, 0.3, 4, 2, -10].map(Math.fround));
  assert.deepEqual(dataset.featureBounds, [
    { min: 0.3, max: 2 },
    { min: -10, max: 60 },
  ]);
  assert.deepEqual(dataset.bounds, { min: -10, max: 60 });
  assert.equal(dataset.numClasses, 2);
  assert.equal(digests[0]?.path, path);
});

test('integer labels stay integers; declared classes fix the order; ignored columns and other delimiters', () => {
  const ints = loadCsvTable(csv('id;a;label\n7;0.5;2\n8;0.25;0\n'), { delimiter: ';', ignoreColumns: ['id'] }).dataset;
  assert.deepEqual(ints.featureNames, ['a']);
  assert.deepEqual([...ints.y], [2, 0]);
  assert.equal(ints.numClasses, 3);
  assert.equal(ints.classNames, undefined);
  assert.equal(loadCsvTable(csv('a,label\n1,2\n'), { numClasses: 10 }).dataset.numClasses, 10);
  const declared = loadCsvTable(csv('a,label\n1,spam\n2,ham\n'), { classes: ['spam', 'ham'] }).dataset;
  assert.deepEqual([...declared.y], [0, 1]);
  assert.deepEqual(declared.classNames, ['spam', 'ham']);
  const bounded = loadCsvTable(csv('a,label\n1,1\n2,0\n'), { bounds: { min: 0, max: 5 } }).dataset;
  assert.deepEqual(bounded.bounds, { min: 0, max: 5 });
  assert.deepEqual(bounded.featureBounds, [{ min: 0, max: 5 }]);
});

test('bad cells name their row, line and column', () => {
  const cases: [string, CsvTableOptions, string, ...string[]][] = [
    ['a,b,label\n1,2,0\n1,,1\n', {}, 'E_CSV_CELL', 'row 2', 'line 3', "column 'b'", 'empty'],
    ['a,b,label\n1,2,0\n1,abc,1\n', {}, 'E_CSV_CELL', "'abc'", "column 'b'", 'ignoreColumns'],
    ['a,b,label\n1,NaN,0\n', {}, 'E_CSV_CELL', "'NaN'"],
    ['a,b,label\n1,0x10,0\n', {}, 'E_CSV_CELL', "'0x10'"],
    ['a,b,label\n1,2,\n', {}, 'E_CSV_CELL', "column 'label'", 'needs a label'],
    ['a,label\n1,spam\n2,eggs\n', { classes: ['spam', 'ham'] }, 'E_UNKNOWN_LABEL', "'eggs'", 'row 2'],
    ['a,label\n1,4\n', { numClasses: 3 }, 'E_LABEL_RANGE', 'row 1', 'numClasses'],
    ['a,label\n1,0\n9,1\n', { bounds: { min: 0, max: 5 } }, 'E_OUT_OF_BOUNDS', 'row 2', "column 'a'", '9'],
  ];
  for (const [text, options, code, ...mentions] of cases) {
    assert.throws(() => loadCsvTable(csv(text), options), hasCode(code, ...mentions), `${code}: ${text}`);
  }
});

test('bad files: malformed CSV, header problems, no rows, missing, too large', () => {
  const cases: [string, CsvTableOptions, string, ...string[]][] = [
    ['a,b,label\n1,2,0\n1,2\n', {}, 'E_CSV_PARSE', 'line 3'],
    ['a,b,label\n1,"2,0\n', {}, 'E_CSV_PARSE'],
    ['a,b,class\n1,2,0\n', {}, 'E_CSV_HEADER', "'label'", 'labelColumn', 'a, b, class'],
    ['a,a,label\n1,2,0\n', {}, 'E_CSV_HEADER', "'a' twice"],
    ['a,label\n1,0\n', { ignoreColumns: ['zzz'] }, 'E_CSV_HEADER', "'zzz'"],
    ['a,label\n1,0\n', { ignoreColumns: ['a'] }, 'E_CSV_HEADER', 'no feature column'],
    ['a,b,label\n', {}, 'E_CSV_EMPTY'],
    ['', {}, 'E_CSV_HEADER'],
  ];
  for (const [text, options, code, ...mentions] of cases) {
    assert.throws(() => loadCsvTable(csv(text), options), hasCode(code, ...mentions), `${code}: ${JSON.stringify(text)}`);
  }
  assert.throws(() => loadCsvTable(join(dir, 'none.csv')), hasCode('E_DATA_MISSING', 'none.csv'));
  assert.throws(() => loadCsvTable(csv('a,label\n1,0\n'), { maxBytes: 5 }), hasCode('E_DATA_TOO_LARGE', 'maxBytes'));
});
