/**
 * `rampart train --method tabular-pgd-at` through the real CLI on a tiny CSV: the threat
 * comes from a plan's tabular threat (`--plan --threat`) or a constraints file
 * (`--constraints`), and every way of getting it wrong exits 2 with its code.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '../src/core/rng.js';

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

/** 240 rows: a site id (immutable), two readings, the label "reading sum above 10". */
function sensorCsv(): string {
  const rng = createRng(7);
  const lines = ['row,site,heat,damp,label'];
  for (let i = 0; i < 240; i++) {
    const heat = Math.round(rng.next() * 1000) / 100;
    const damp = Math.round(rng.next() * 1000) / 100;
    lines.push(`${i},${i % 3},${heat},${damp},${heat + damp > 10 ? 1 : 0}`);
  }
  return `${lines.join('\n')}\n`;
}

const THREATS = `threats:
  - id: drift
    channel: tabular
    technique: gradient
    goal: untargeted
    likelihood: possible
    impact: major
    owner: ops
    norm: l2
    epsilon: 1
    constraints:
      immutable: [site]
      integer: [site]
      budgets: { heat: 1.5, damp: 1.5 }
      scale: { heat: 1.5, damp: 1.5 }
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: t }
`;

describe('rampart train --method tabular-pgd-at', () => {
  let dir: string;
  let csv: string;
  let plan: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-train-tabular-'));
    csv = join(dir, 'sensor.csv');
    await writeFile(csv, sensorCsv());
    plan = join(dir, 'rampart.yaml');
    await writeFile(
      plan,
      `name: tiny-sensor\n${THREATS}tabular:\n  dataset: csv:${csv}\n  labelColumn: label\n  ignoreColumns: [row]\n` +
        '  model: { source: models/none }\n' +
        "data: { dataset: mnist }\nmodel: { source: 'onnx:fixtures/onnx/mnist-cnn.onnx' }\nevaluation: { suite: standard:quick }\n" +
        'criteria:\n  robustAccuracy: { drift: 0.5 }\n',
    );
  });

  test('trains against the named tabular threat of a plan, on the plan CSV', async () => {
    const out = join(dir, 'plan-run');
    const ok = rampart(
      'train',
      '--method',
      'tabular-pgd-at',
      '--plan',
      plan,
      '--threat',
      'drift',
      '--attack-classes',
      '1',
      '--attack-steps',
      '3',
      '--arch',
      'mlp',
      '--epochs',
      '2',
      '--out',
      out,
      '--quiet',
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /trained mlp on .*sensor.* test accuracy \d+\.\d+%/);
    const report = JSON.parse(await readFile(join(out, 'train-report.json'), 'utf8')) as {
      training: { objective?: { id: string; config: Record<string, unknown> } };
    };
    assert.ok((await readFile(join(out, 'model', 'weights.bin'))).length > 0, 'the model is saved');
    const text = JSON.stringify(report);
    assert.match(text, /tabular-pgd-at/);
    assert.match(text, /"threat":"drift"/);
    assert.match(text, /"attackClasses":\[1\]/);
  });

  test('trains against a constraints file with --data', async () => {
    const file = join(dir, 'constraints.yaml');
    await writeFile(file, 'id: drift-file\nnorm: linf\nepsilon: 0.5\nconstraints:\n  immutable: [site]\n  scale: none\n');
    const out = join(dir, 'file-run');
    const r = rampart(
      'train',
      '--method',
      'tabular-pgd-at',
      '--constraints',
      file,
      '--data',
      `csv:${csv}?labelColumn=label&ignoreColumns=row`,
      '--arch',
      'mlp',
      '--epochs',
      '1',
      '--attack-steps',
      '2',
      '--out',
      out,
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(await readFile(join(out, 'train-report.json'), 'utf8'), /"threat": "drift-file"/);
  });

  test('refuses a missing, misplaced or wrong threat with its code', async () => {
    const data = `csv:${csv}?labelColumn=label&ignoreColumns=row`;
    const cases: Array<[string[], RegExp]> = [
      [['--data', data], /E_TRAIN_THREAT: --method tabular-pgd-at trains against a compiled tabular threat: add --plan FILE --threat NAME/],
      [['--plan', plan], /E_TRAIN_THREAT: --plan needs --threat NAME/],
      [['--threat', 'drift'], /E_TRAIN_THREAT: --threat drift needs --plan FILE/],
      [['--plan', plan, '--threat', 'nope'], /E_TRAIN_THREAT: --threat 'nope' is not a threat of .*; its tabular threats are 'drift'/],
      [
        ['--plan', plan, '--threat', 'linf-0.1'],
        /E_TRAIN_THREAT_CHANNEL: --threat 'linf-0.1' is a image threat; tabular-pgd-at trains against a tabular/,
      ],
      [['--plan', plan, '--threat', 'drift', '--epsilon', '0.3'], /E_TRAIN_THREAT: --epsilon sets an image threat/],
      [
        ['--plan', plan, '--threat', 'drift', '--constraints', plan],
        /E_TRAIN_THREAT: Give either --plan FILE --threat NAME or --constraints FILE/,
      ],
    ];
    for (const [flags, expected] of cases) {
      const r = rampart('train', '--method', 'tabular-pgd-at', '--arch', 'mlp', '--out', join(dir, 'never'), '--quiet', ...flags);
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, expected, flags.join(' '));
    }
    const other = rampart(
      'train',
      '--method',
      'pgd-at',
      '--epsilon',
      '0.3',
      '--plan',
      plan,
      '--threat',
      'drift',
      '--out',
      join(dir, 'never'),
    );
    assert.equal(other.code, 2);
    assert.match(other.stderr, /E_TRAIN_THREAT: --plan, --threat and --constraints give the tabular threat of --method tabular-pgd-at/);
  });

  test('refuses an invalid constraints file and constraints on a feature the CSV lacks', async () => {
    const data = `csv:${csv}?labelColumn=label&ignoreColumns=row`;
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ norm: 'l7', epsilon: -1, constraints: { immutable: ['site'], wobble: true } }));
    const invalid = rampart('train', '--method', 'tabular-pgd-at', '--constraints', bad, '--data', data, '--arch', 'mlp', '--quiet');
    assert.equal(invalid.code, 2, invalid.stderr);
    assert.match(invalid.stderr, /E_CONSTRAINTS_FILE: --constraints .*bad\.json is not a tabular threat: norm: .*epsilon: .*constraints: /);
    const missing = rampart('train', '--method', 'tabular-pgd-at', '--constraints', join(dir, 'absent.yaml'), '--data', data, '--quiet');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /E_CONSTRAINTS_FILE: Cannot read --constraints .*absent\.yaml/);
    const unknown = join(dir, 'unknown.yaml');
    await writeFile(unknown, 'norm: l2\nepsilon: 1\nconstraints: { immutable: [mote_id] }\n');
    const r = rampart('train', '--method', 'tabular-pgd-at', '--constraints', unknown, '--data', data, '--arch', 'mlp', '--quiet');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /E_TABULAR_CONSTRAINTS: --constraints .*: .*'mote_id'.*feature columns are: site, heat, damp/);
  });
});
