/** Security: an IDX file's gzip output is capped, so a small gzip bomb cannot fill memory. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RampartError } from '../../src/core/errors.js';
import { readIdx } from '../../src/data/idx.js';

describe('IDX gunzip output cap', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'rampart-sec-idx-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  function expectTooLarge(fn: () => unknown): void {
    assert.throws(
      fn,
      (e: unknown) => e instanceof RampartError && e.code === 'E_IDX_TOO_LARGE' && /more than \d+ bytes once inflated/.test(e.message),
    );
  }

  test('a gzip that inflates past maxBytes stops at the cap with E_IDX_TOO_LARGE', () => {
    // 8 MB of one label class compress to a few KB; the cap is 1 MB.
    const header = Buffer.from([0, 0, 8, 1, 0, 0x80, 0, 0]);
    const bomb = join(tmp, 'bomb-idx1-ubyte.gz');
    writeFileSync(bomb, gzipSync(Buffer.concat([header, Buffer.alloc(0x800000)])));
    expectTooLarge(() => readIdx(bomb, { maxBytes: 1024 * 1024 }));
    // The same file reads when the cap allows it.
    assert.equal(readIdx(bomb, { maxBytes: 16 * 1024 * 1024 }).dims[0], 0x800000);
  });

  test('a plain file over maxBytes is refused too', () => {
    const plain = join(tmp, 'plain-idx1-ubyte');
    writeFileSync(plain, Buffer.concat([Buffer.from([0, 0, 8, 1, 0, 0, 0x10, 0]), Buffer.alloc(0x1000)]));
    expectTooLarge(() => readIdx(plain, { maxBytes: 1024 }));
  });
});
