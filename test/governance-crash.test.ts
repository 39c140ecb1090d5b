/**
 * Crash safety: a child process writes to the registry in a loop and is SIGKILLed at an
 * arbitrary point, three times over (the last time two writers run at once). After each kill the database must pass SQLite's
 * integrity_check, every artifact's bytes must match its digest, the audit chain must
 * verify, every transaction the child reported as committed must be there, and no
 * transaction may be half-applied.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '../src/core/rng.js';
import { openGovernance } from '../src/governance/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const writer = join(root, 'test', 'governance-writer.ts');

/** Starts the writer, waits for `commits` committed rounds plus a seeded delay, kills it; returns the digests it reported. */
function runAndKill(
  dir: string,
  seed: number,
  commits: number,
  delayMs: number,
): Promise<{ committed: string[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(seed)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const committed: string[] = [];
    let buffer = '';
    let stderr = '';
    let armed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^committed \d+ ([0-9a-f]{64})$/.exec(line);
        if (m) committed.push(m[1]!);
      }
      if (!armed && committed.length >= commits) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (code ${code}): ${stderr}`));
      else resolve({ committed, signal });
    });
  });
}

describe('registry crash safety', () => {
  test('SIGKILL during writes leaves a consistent registry', { timeout: 120_000 }, async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'rampart-crash-'));
    const dir = join(tmp, '.rampart');
    const rng = createRng(2024);
    const allCommitted: string[] = [];
    try {
      for (let round = 1; round <= 3; round++) {
        // The last round runs two writers at once: busy waits and interleaved transactions must still chain.
        const runs = await Promise.all((round === 3 ? [30, 31] : [round]).map((seed) => runAndKill(dir, seed, 4 + round * 2, rng.int(25))));
        for (const { committed } of runs) allCommitted.push(...committed);
        const gov = openGovernance(dir, { actor: 'checker', mustExist: true });
        try {
          const check = gov.check();
          assert.equal(check.integrity, 'ok');
          assert.deepEqual(check.artifacts.problems, [], `round ${round}: damaged artifacts`);
          assert.equal(check.audit.ok, true, `round ${round}: ${JSON.stringify(check.audit.firstBad)}`);
          for (const digest of allCommitted) assert.equal(gov.registry.get(digest).kind, 'dataset');
          // The model, its tag move, the risk measurement and the train entry share a transaction: all or none.
          const models = gov.registry.list({ kind: 'model' });
          assert.equal(gov.audit.list({ action: 'train' }).length, models.length);
          assert.equal(gov.registry.tagHistory('candidate').length, models.length);
          assert.equal(gov.audit.list({ action: 'risk.measure' }).length, models.length);
          assert.ok(models.length >= allCommitted.length);
          assert.equal(gov.registry.resolveTag('candidate'), models.at(-1)?.digest);
          for (const m of models) assert.equal(gov.registry.manifest(m.digest).length, 2);
          if (round === 3) {
            const actors = new Set(gov.audit.list({ action: 'train' }).map((e) => e.actor));
            assert.ok(actors.has('writer-30') && actors.has('writer-31'), `both concurrent writers committed: ${[...actors].join(', ')}`);
          }
        } finally {
          gov.close();
        }
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
