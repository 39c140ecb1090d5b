/**
 * Issue 28, item 6: `rampart run` on a worker pool, killed with SIGKILL in the middle of
 * adversarial training and run again, resumes from the last checkpointed epoch and ends
 * with bit-identical hardened weights (RNG streams, Adam's moments and bias-correction
 * powers, the pool's model copies), compared with an uninterrupted run of the same plan.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const PLAN = `
name: resume
seed: 5
threats:
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: team-a }
data: { dataset: mnist, splitSeed: 1, trainLimit: 300 }
model:
  architecture: mlp
  baseline: { epochs: 1, learningRate: 0.002 }
training:
  method: pgd-at
  threat: linf-0.1
  steps: 2
  epochs: 3
  optimizer: adam
  learningRate: 0.002
  phases: [{ epochs: 1, epsilonScale: 0.5 }, { epochs: 2, epsilonScale: 1 }]
  robustValidation: { steps: 2, limit: 50 }
evaluation:
  limit: 40
  attacks: [{ id: fgsm }]
criteria:
  cleanAccuracy: 0.3
  robustAccuracy: { linf-0.1: 0.05 }
`;

const child = new URL('./fixtures/run-child.ts', import.meta.url).pathname;

function run(planFile: string, dir: string, killAfter: string, out?: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', child, planFile, dir, killAfter, ...(out ? [out] : [])], {
    encoding: 'utf8',
    timeout: 300_000,
  });
}

test('a plan killed mid-hardening on the worker pool resumes to bit-identical weights', () => {
  const base = mkdtempSync(join(tmpdir(), 'rampart-run-resume-'));
  const planFile = join(base, 'resume.yaml');
  writeFileSync(planFile, PLAN);
  const straight = run(planFile, join(base, 'straight'), '-', join(base, 'straight.json'));
  assert.equal(straight.status, 0, straight.stderr);
  // Killed after the first hardening epoch: 5 Adam steps (300 digits, batches of 64), a
  // step count where pow(0.999, t + 1) and the running product differ in float32.
  const killed = run(planFile, join(base, 'killed'), '1');
  assert.equal(killed.signal, 'SIGKILL', `the child should die mid-hardening: ${killed.stderr}`);
  const resumed = run(planFile, join(base, 'killed'), '-', join(base, 'resumed.json'));
  assert.equal(resumed.status, 0, resumed.stderr);
  const a = JSON.parse(readFileSync(join(base, 'straight.json'), 'utf8')) as { sha256: string; losses: string[] };
  const b = JSON.parse(readFileSync(join(base, 'resumed.json'), 'utf8')) as { sha256: string; losses: string[] };
  assert.equal(a.losses.length, 3);
  // The rerun trained only the epochs the kill lost, with the same losses and accuracies.
  assert.deepEqual(b.losses, a.losses.slice(1));
  assert.equal(b.sha256, a.sha256, 'resumed hardened weights differ from the uninterrupted run');
});
