import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { loadDataset } from '../src/data/index.js';
import { writeDataFixtures } from '../scripts/make-data-fixtures.js';

const fixtures = fileURLToPath(new URL('../fixtures/data/', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'rampart-fixtures-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('the committed data fixtures are what scripts/make-data-fixtures.ts writes', () => {
  writeDataFixtures(out);
  const files = [
    'blobs.csv',
    ...['circle', 'cross', 'square'].flatMap((c) => readdirSync(join(out, 'shapes', c)).map((f) => join('shapes', c, f))),
  ];
  assert.equal(files.length, 13);
  for (const file of files) assert.deepEqual(readFileSync(join(fixtures, file)), readFileSync(join(out, file)), file);
});

test('the fixtures load as an 8x8 three-class image folder and a 4-feature, three-class table', () => {
  const shapes = loadDataset(`folder:${join(fixtures, 'shapes')}`);
  assert.deepEqual(shapes.shape, [8, 8, 1]);
  assert.deepEqual(shapes.classNames, ['circle', 'cross', 'square']);
  assert.equal(shapes.count, 12);
  const blobs = loadDataset(`csv:${join(fixtures, 'blobs.csv')}?labelColumn=species`);
  assert.deepEqual(blobs.shape, [4]);
  assert.deepEqual(blobs.classNames, ['alpha', 'beta', 'gamma']);
  assert.deepEqual([...blobs.y.subarray(0, 6)], [0, 1, 2, 0, 1, 2]);
});
