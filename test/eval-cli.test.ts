/**
 * End-to-end: `rampart eval --suite` in a child process, as a user runs it, on a tiny MLP
 * trained here. Checks that the suite comes with the evidence that makes it trustworthy:
 * PGD alone next to it, the gradient-masking checks, calibration before and after
 * temperature scaling, certified accuracy and latency, in JSON, text and Markdown.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

function rampart(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RAMPART_BACKEND: '' },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const METRICS = ['ece', 'eceEqualMass', 'mce', 'brier', 'nll', 'accuracy'] as const;

function assertMetrics(m: Record<string, number>, count: number, what: string): void {
  assert.equal(m.count, count, `${what}: count`);
  for (const k of METRICS) assert.ok(Number.isFinite(m[k]) && (m[k] as number) >= 0, `${what}: ${k} = ${m[k]}`);
  assert.ok((m.ece as number) <= 1 && (m.mce as number) <= 1 && (m.brier as number) <= 2, what);
}

describe('rampart eval --suite: trust evidence', () => {
  let dir: string;
  let modelDir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-eval-cli-'));
    modelDir = join(dir, 'run', 'model');
    const r = rampart('train', '--arch', 'mlp', '--epochs', '2', '--limit', '600', '--lr', '0.003', '--out', join(dir, 'run'), '--quiet');
    assert.equal(r.code, 0, r.stderr);
  });

  test('reports PGD alone, masking checks, calibration, certification and latency', async () => {
    const out = join(dir, 'eval.json');
    const md = join(dir, 'eval.md');
    const r = rampart(
      'eval',
      '--model',
      modelDir,
      '--suite',
      'standard:quick',
      '--epsilons',
      '0,0.1',
      '--limit',
      '30',
      '--workers',
      '1',
      '--masking-limit',
      '15',
      '--certify-limit',
      '6',
      '--n',
      '100',
      '--radii',
      '0,0.25,0.5',
      '--latency-repeats',
      '5',
      '--out',
      out,
      '--markdown',
      md,
    );
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(await readFile(out, 'utf8'));
    assert.equal(report.kind, 'rampart.suite-report');

    // The suite against PGD alone, at every epsilon > 0, on the same 30 examples.
    const suiteAt = report.results.find((x: { epsilon: number }) => x.epsilon === 0.1).robustAccuracy;
    assert.equal(report.suiteVsPgd.source, 'separate-run');
    assert.deepEqual(
      report.suiteVsPgd.results.map((x: { epsilon: number }) => x.epsilon),
      [0.1],
    );
    const cmp = report.suiteVsPgd.results[0];
    assert.equal(cmp.suiteRobustAccuracy, suiteAt);
    assert.ok(cmp.pgdRobustAccuracy >= 0 && cmp.pgdRobustAccuracy <= 1);
    assert.ok(cmp.suiteRobustAccuracy <= cmp.pgdRobustAccuracy, `suite ${cmp.suiteRobustAccuracy} > PGD ${cmp.pgdRobustAccuracy}`);
    assert.equal(report.suiteVsPgd.suiteNoHigher, true);
    assert.equal(report.suiteVsPgd.pgd.config.steps, 40);

    // Masking checks at the largest epsilon, each with a verdict and an explanation.
    const masking = report.masking;
    assert.equal(masking.threat.epsilon, 0.1);
    assert.ok(masking.examples > 0 && masking.examples <= 15);
    assert.ok(masking.checks.length >= 7, `only ${masking.checks.length} checks ran`);
    for (const c of masking.checks) {
      assert.ok(['pass', 'warn', 'fail'].includes(c.status), c.id);
      assert.ok(c.explanation.length > 20, c.id);
    }
    assert.ok(masking.checks.some((c: { id: string }) => c.id === 'iterative-beats-single-step'));
    assert.deepEqual(
      masking.skipped.map((s: { id: string }) => s.id),
      ['white-box-beats-transfer'],
    );
    assert.equal(masking.config.blackBoxConfig.queries, 300, 'the quick suite sizes the black-box check like its Square stage');

    // Calibration: T fitted on the validation split, before/after on the evaluated data and on PGD adversarials.
    const cal = report.calibration;
    assert.equal(cal.temperature.fittedOn.split, 'validation');
    assert.match(cal.temperature.fittedOn.name, /validation/);
    assert.ok(cal.temperature.fittedOn.count > 100);
    assert.equal(cal.temperature.overlapsEvaluatedData, false);
    assert.ok(cal.temperature.temperature > 0);
    assert.ok(cal.temperature.nllAfter <= cal.temperature.nllBefore + 1e-9, 'the fit cannot make validation NLL worse than T = 1');
    assertMetrics(cal.clean.before, 30, 'clean before');
    assertMetrics(cal.clean.after, 30, 'clean after');
    // Dividing logits by T > 0 never changes a prediction.
    assert.equal(cal.clean.after.accuracy, cal.clean.before.accuracy);
    assert.equal(cal.clean.before.accuracy, report.clean.accuracy);
    assert.equal(cal.adversarial.attack.id, 'pgd');
    assert.equal(cal.adversarial.threat.epsilon, 0.1);
    assertMetrics(cal.adversarial.before, 30, 'adversarial before');
    assertMetrics(cal.adversarial.after, 30, 'adversarial after');
    assert.ok(cal.adversarial.before.accuracy < cal.clean.before.accuracy, 'PGD at 0.1 must lower the accuracy of an undefended MLP');

    // Certified accuracy at the given radii, never growing with the radius.
    const cert = report.certification;
    assert.deepEqual(
      { sigma: cert.config.sigma, n0: cert.config.n0, n: cert.config.n, alpha: cert.config.alpha },
      { sigma: 0.25, n0: 100, n: 100, alpha: 0.001 },
    );
    assert.equal(cert.data.count, 6);
    assert.deepEqual(
      cert.curve.map((p: { radius: number }) => p.radius),
      [0, 0.25, 0.5],
    );
    for (let i = 1; i < cert.curve.length; i++) assert.ok(cert.curve[i].certifiedAccuracy <= cert.curve[i - 1].certifiedAccuracy);
    assert.equal(cert.examples.length, 6);
    // n = 100 at alpha = 0.001: pA >= 0.001^(1/100) = 0.9333 at best, so radii above 0.25 * Φ⁻¹(0.9333) = 0.375 are out of reach.
    assert.ok(Math.abs(cert.maxCertifiableRadius - 0.25 * 1.5005) < 1e-3, String(cert.maxCertifiableRadius));
    assert.equal(cert.curve[2].certifiedAccuracy, 0);
    assert.match(r.stdout, /0\.5\s+0\.00%\s+0\s+beyond what n can certify/);

    // Latency on clean and adversarial inputs, batch sizes capped at the data size.
    const lat = report.latency;
    assert.deepEqual(
      lat.series.map((s: { inputs: string }) => s.inputs),
      ['clean', 'adversarial'],
    );
    for (const s of lat.series) {
      assert.deepEqual(
        s.stats.map((st: { batchSize: number }) => st.batchSize),
        [1, 30],
      );
      for (const st of s.stats) assert.ok(st.p50Ms > 0 && st.p50Ms <= st.p99Ms, JSON.stringify(st));
    }

    // The same sections for people: on stdout and in the Markdown file.
    for (const title of [
      'suite vs PGD alone',
      'gradient-masking checks',
      'calibration (before/after temperature scaling)',
      'certified accuracy (randomized smoothing, L2 certificates, σ=0.25',
      'latency (',
    ]) {
      assert.ok(r.stdout.includes(title), `stdout lacks '${title}'`);
    }
    assert.match(r.stdout, /0\.1\s+\d+\.\d+%\s+\d+\.\d+%\s+yes/);
    assert.match(r.stdout, /\[(pass|warn|fail)\] iterative-beats-single-step: /);
    assert.match(r.stdout, /clean, T=1\s+30\s/);
    const markdown = await readFile(md, 'utf8');
    for (const heading of [
      '## Suite standard v1',
      '## Suite vs PGD alone',
      '## Gradient-masking checks',
      '## Calibration',
      '## Certified accuracy',
      '## Latency',
    ]) {
      assert.ok(markdown.includes(heading), `markdown lacks '${heading}'`);
    }
    assert.match(markdown, /\| L2 radius \| certified acc \| examples \|/);
  });

  test('each part can be switched off; PGD from the per-attack table is reused', async () => {
    const out = join(dir, 'eval-off.json');
    const r = rampart(
      'eval',
      '--model',
      modelDir,
      '--suite',
      'standard:quick',
      '--attacks',
      'pgd',
      '--steps',
      '5',
      '--epsilons',
      '0.1',
      '--limit',
      '20',
      '--workers',
      '1',
      '--no-masking',
      '--no-calibration',
      '--no-certify',
      '--no-latency',
      '--out',
      out,
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(await readFile(out, 'utf8'));
    for (const key of ['masking', 'calibration', 'certification', 'latency']) assert.equal(report[key], undefined, key);
    assert.equal(report.suiteVsPgd.source, 'attacks-table');
    assert.equal(report.suiteVsPgd.pgd.config.steps, 5);
    const pgd = report.results.find((x: { attack: string; epsilon: number }) => x.attack === 'pgd' && x.epsilon === 0.1);
    assert.equal(report.suiteVsPgd.results[0].pgdRobustAccuracy, pgd.robustAccuracy);
    assert.equal(report.suiteVsPgd.results[0].suiteRobustAccuracy, report.suite.results[0].robustAccuracy);
    assert.ok(!r.stdout.includes('gradient-masking checks'));
    assert.equal(r.stderr, '', '--quiet prints no progress');
  });

  test('bad flags are usage errors, found before the suite runs', async () => {
    const radii = rampart('eval', '--model', modelDir, '--suite', 'standard:quick', '--radii', '0,-1');
    assert.equal(radii.code, 2);
    assert.match(radii.stderr, /E_FLAG_VALUE: --radii must be a comma-separated list of numbers >= 0/);
    const alpha = rampart('eval', '--model', modelDir, '--suite', 'standard:quick', '--alpha', '2');
    assert.equal(alpha.code, 2);
    assert.match(alpha.stderr, /E_FLAG_VALUE: --alpha must be a number in \(0, 1\)/);
    const started = Date.now();
    const epsilon = rampart('eval', '--model', modelDir, '--suite', 'standard:quick', '--masking-epsilon', '3', '--quiet');
    assert.equal(epsilon.code, 2);
    assert.match(epsilon.stderr, /E_EPSILON_RANGE/);
    assert.ok(Date.now() - started < 20_000, 'the epsilon is checked before the suite attacks 1000 examples');
    await rm(dir, { recursive: true, force: true });
  });
});
