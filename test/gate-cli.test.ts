/** `rampart gate` and `rampart run` as a user runs them: exit codes, JUnit and Markdown files, plan errors. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { EvaluationResults } from '../src/eval/results.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

function rampart(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { cwd: root, encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function results(clean: number, linf03: number): EvaluationResults {
  return {
    kind: 'rampart.evaluation-results',
    schemaVersion: 1,
    model: { name: 'mnist-example/hardened' },
    cleanAccuracy: clean,
    robustAccuracy: { 'linf-0.1': 0.9, 'linf-0.2': 0.8, 'linf-0.3': linf03, 'l2-1.5': 0.5 },
    ece: 0.02,
    latencyP99Ms: 3,
    curves: [],
    unmeasured: {},
  };
}

describe('rampart gate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-gate-'));
  const write = (name: string, value: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };

  it('exits 0 when every check passes and 1 when one fails, writing JUnit and Markdown', () => {
    const good = write('good.json', results(0.98, 0.6));
    const pass = rampart(
      'gate',
      '--plan',
      'examples/rampart.yaml',
      '--candidate',
      good,
      '--junit',
      join(dir, 'pass.xml'),
      '--markdown',
      join(dir, 'pass.md'),
      '--dir',
      join(dir, 'none'),
    );
    assert.equal(pass.code, 0, pass.stderr + pass.stdout);
    assert.match(pass.stdout, /gate PASSED/);
    assert.match(readFileSync(join(dir, 'pass.xml'), 'utf8'), /failures="0"/);

    const production = write('prod.json', results(0.99, 0.7));
    const fail = rampart(
      'gate',
      '--plan',
      'examples/rampart.yaml',
      '--candidate',
      good,
      '--baseline',
      production,
      '--junit',
      join(dir, 'fail.xml'),
      '--markdown',
      join(dir, 'fail.md'),
    );
    assert.equal(fail.code, 1, fail.stderr + fail.stdout);
    assert.match(fail.stdout, /FAIL {4}regression:robust-accuracy:linf-0\.3: robust accuracy \(linf-0\.3\) 60\.0% vs production 70\.0%/);
    assert.match(readFileSync(join(dir, 'fail.xml'), 'utf8'), /failures="1"/);
    assert.match(readFileSync(join(dir, 'fail.md'), 'utf8'), /❌ FAILED/);
  });

  it('exits 2 for a broken plan, naming the problem', () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, readFileSync(join(root, 'examples/rampart.yaml'), 'utf8').replace('norm: l2', 'norm: l7'));
    const run = rampart('run', broken, '--dir', join(dir, 'runs'));
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /E_PLAN_INVALID: broken\.yaml is not a valid plan \(1 problem\):\n {2}threats\[3\]\.norm: must be one of 'linf', 'l2', 'l0', 'patch', 'occlusion' \(got 'l7'\)/,
    );
  });
});
