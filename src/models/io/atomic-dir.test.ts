import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceDirAtomically } from './atomic-dir.js';
import { RampartError } from '../../core/errors.js';

const enc = (s: string) => Buffer.from(s, 'utf8');
const files = (a: string, b: string) =>
  new Map([
    ['model.json', enc(a)],
    ['weights.bin', enc(b)],
  ]);

async function contents(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = await readFile(join(dir, name), 'utf8');
  return out;
}

describe('replaceDirAtomically', () => {
  let root: string;
  let n = 0;
  const fresh = async () => {
    const parent = join(root, `case-${n++}`);
    await mkdir(parent);
    return parent;
  };
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rampart-atomic-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates missing parents and the directory', async () => {
    const dir = join(await fresh(), 'a', 'b', 'model');
    await replaceDirAtomically(dir, files('j1', 'w1'));
    assert.deepEqual(await contents(dir), { 'model.json': 'j1', 'weights.bin': 'w1' });
  });

  it('replaces an existing directory whole and leaves no siblings behind', async () => {
    const parent = await fresh();
    const dir = join(parent, 'model');
    await replaceDirAtomically(dir, files('old-json', 'old-weights'));
    await replaceDirAtomically(dir, new Map([['model.json', enc('new-json')]]).set('weights.bin', enc('nw')));
    assert.deepEqual(await contents(dir), { 'model.json': 'new-json', 'weights.bin': 'nw' });
    assert.deepEqual(await readdir(parent), ['model']);
  });

  it('replaces an existing empty directory', async () => {
    const dir = join(await fresh(), 'model');
    await mkdir(dir);
    await replaceDirAtomically(dir, files('j', 'w'));
    assert.deepEqual(await contents(dir), { 'model.json': 'j', 'weights.bin': 'w' });
  });

  it('leaves the old directory untouched when the commit is aborted (simulated crash)', async () => {
    const parent = await fresh();
    const dir = join(parent, 'model');
    await replaceDirAtomically(dir, files('old-json', 'old-weights'));
    await assert.rejects(
      replaceDirAtomically(dir, files('new-json', 'new-weights'), {
        beforeCommit: () => {
          throw new Error('simulated crash');
        },
      }),
      /simulated crash/,
    );
    assert.deepEqual(await contents(dir), { 'model.json': 'old-json', 'weights.bin': 'old-weights' });
    assert.deepEqual(await readdir(parent), ['model'], 'temporary directory is cleaned up');
  });

  it('has written every file before the commit point', async () => {
    const parent = await fresh();
    const dir = join(parent, 'model');
    let seen: Record<string, string> = {};
    await replaceDirAtomically(dir, files('j', 'w'), {
      beforeCommit: async () => {
        const tmp = (await readdir(parent)).find((name) => name.startsWith('.model.tmp-'));
        assert.ok(tmp, 'files are staged in a hidden sibling');
        seen = await contents(join(parent, tmp));
      },
    });
    assert.deepEqual(seen, { 'model.json': 'j', 'weights.bin': 'w' });
  });

  it('refuses a directory that holds unrelated files and does not touch them', async () => {
    const dir = join(await fresh(), 'model');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'keep me');
    await assert.rejects(replaceDirAtomically(dir, files('j', 'w')), (e: unknown) => {
      assert.ok(e instanceof RampartError);
      assert.equal(e.code, 'E_MODEL_DIR_NOT_EMPTY');
      assert.match(e.message, /notes\.txt/);
      return true;
    });
    assert.deepEqual(await contents(dir), { 'notes.txt': 'keep me' });
  });

  it('refuses a path that is a file', async () => {
    const path = join(await fresh(), 'model');
    await writeFile(path, 'x');
    await assert.rejects(replaceDirAtomically(path, files('j', 'w')), { code: 'E_MODEL_PATH_NOT_DIR' });
    assert.equal(await readFile(path, 'utf8'), 'x');
  });

  it('keeps a symlinked target a symlink', async () => {
    const parent = await fresh();
    const real = join(parent, 'real');
    await replaceDirAtomically(real, files('old', 'old'));
    const link = join(parent, 'link');
    await symlink(real, link, 'dir');
    await replaceDirAtomically(link, files('new', 'new'));
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.deepEqual(await contents(real), { 'model.json': 'new', 'weights.bin': 'new' });
  });

  it('ends with exactly one complete writer when saves race', async () => {
    const parent = await fresh();
    const dir = join(parent, 'model');
    await replaceDirAtomically(dir, files('seed', 'seed'));
    await Promise.all(Array.from({ length: 6 }, (_, i) => replaceDirAtomically(dir, files(`j${i}`, `w${i}`))));
    const got = await contents(dir);
    const i = got['model.json']?.slice(1);
    assert.deepEqual(got, { 'model.json': `j${i}`, 'weights.bin': `w${i}` }, 'files come from the same save');
    assert.deepEqual(await readdir(parent), ['model']);
  });
});
