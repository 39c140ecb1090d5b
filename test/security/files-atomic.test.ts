/**
 * Security: files are replaced through exclusive temp files with random names, secrets are
 * created 0600, and a failed write leaves no temp file. `rampart keys add` used to write
 * through `keys.json.tmp-<pid>`, following a symlink planted there and overwriting its target.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic, writeFileAtomicSync, writeJsonFile } from '../../src/core/files.js';
import { addApiKey } from '../../src/serve/auth.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const main = join(root, 'src/cli/main.ts');
const VICTIM_TEXT = 'precious contents\n';

describe('atomic, exclusive file writes', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'rampart-sec-files-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('addApiKey does not follow a symlink planted at the old predictable temp path', async () => {
    const dir = join(tmp, 'lib');
    mkdirSync(dir);
    const victim = join(tmp, 'lib-victim.txt');
    writeFileSync(victim, VICTIM_TEXT);
    const keys = join(dir, 'keys.json');
    symlinkSync(victim, `${keys}.tmp-${process.pid}`);
    await addApiKey(keys, { role: 'predict' });
    assert.equal(readFileSync(victim, 'utf8'), VICTIM_TEXT);
    assert.equal(statSync(keys).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(keys, 'utf8')).keys.length, 1);
  });

  test('`rampart keys add` leaves a symlinked target alone whatever its pid', async () => {
    const dir = join(tmp, 'cli');
    mkdirSync(dir);
    const victim = join(tmp, 'cli-victim.txt');
    writeFileSync(victim, VICTIM_TEXT);
    const keys = join(dir, 'keys.json');
    // The child's pid is not known in advance: plant a link for every pid it is likely to get.
    const last = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
    const start = await nextPid();
    for (let pid = start; pid < Math.min(start + 3000, last); pid++) symlinkSync(victim, `${keys}.tmp-${pid}`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'keys', 'add', '--file', keys, '--role', 'predict'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(victim, 'utf8'), VICTIM_TEXT);
    assert.equal(statSync(keys).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(keys, 'utf8')).keys.length, 1);
  });

  test('secrets are created with the given mode; other files 0644', async () => {
    const secret = join(tmp, 'mode', 'secret.json');
    await writeJsonFile(secret, { k: 1 }, { mode: 0o600 });
    assert.equal(statSync(secret).mode & 0o777, 0o600);
    writeFileAtomicSync(join(tmp, 'mode', 'sync-secret'), 'x', { mode: 0o600 });
    assert.equal(statSync(join(tmp, 'mode', 'sync-secret')).mode & 0o777, 0o600);
  });

  test('a failed write removes its temp file and leaves the target as it was', async () => {
    const dir = join(tmp, 'fail');
    // A non-empty directory at the target makes the final rename fail after the temp file is written.
    mkdirSync(join(dir, 'report.json', 'inside'), { recursive: true });
    await assert.rejects(writeJsonFile(join(dir, 'report.json'), { a: 1 }));
    assert.throws(() => writeFileAtomicSync(join(dir, 'report.json'), 'x'));
    await assert.rejects(writeFileAtomic(join(dir, 'report.json'), 'x'));
    assert.deepEqual(readdirSync(dir), ['report.json']);
    assert.deepEqual(readdirSync(join(dir, 'report.json')), ['inside']);
  });

  test('temp names are unpredictable: two writes of one path never share a temp file', async () => {
    const target = join(tmp, 'race', 'out.txt');
    await Promise.all(Array.from({ length: 8 }, (_, i) => writeFileAtomic(target, `writer ${i}\n`)));
    assert.match(readFileSync(target, 'utf8'), /^writer \d\n$/);
    assert.deepEqual(readdirSync(join(tmp, 'race')), ['out.txt']);
  });
});

/** The pid the next child is likely to get: one past a throwaway child's. */
async function nextPid(): Promise<number> {
  const child = spawn('true');
  const pid = child.pid ?? 0;
  await new Promise((resolve) => child.on('exit', resolve));
  return pid + 1;
}
