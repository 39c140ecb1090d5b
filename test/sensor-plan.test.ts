/**
 * The sensor example plan (examples/sensor/rampart.yaml) through the pipeline on a small
 * slice of the real readings, with tiny training and attack budgets: the plan as shipped is
 * accepted, builds and hardens its MLP, attacks the anomalous test rows under the
 * constrained threat with every listed attack, checks every adversarial example, and gates
 * on the numbers. Also: constraint errors name their path, a constraint on a feature the
 * CSV lacks fails with the header listed, and an attack that ignores the constraints fails
 * the stage with E_ATTACK_CONTRACT.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { parse, stringify } from 'yaml';
import { RampartError } from '../src/core/errors.js';
import { loadResults } from '../src/eval/results.js';
import { openGovernance } from '../src/governance/index.js';
import { PlanError } from '../src/pipeline/plan/load.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { runPlan } from '../src/pipeline/run/run-plan.js';
import type { ConstrainedNumbers } from '../src/pipeline/run/stages/tabular-constrained.js';
import { tabularThreat } from '../src/threats/tabular/threat.js';
import { createObjective } from '../src/training/objectives/registry.js';
import { sensorCsvPath } from '../examples/sensor/scenario.js';
import { engine } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-sensor-plan-'));
after(() => rm(dir, { recursive: true, force: true }));
const csv = join(dir, 'sensor.csv');
const PLAN = readFileSync(new URL('../examples/sensor/rampart.yaml', import.meta.url), 'utf8');

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The example plan on the small CSV, with tiny budgets; `edit` changes the parsed document before it is checked. */
function tinyPlan(name: string, edit: (doc: Doc) => void = () => undefined): string {
  const doc = parse(PLAN) as Doc;
  doc.name = name;
  doc.tabular.dataset = `csv:${csv}`;
  doc.tabular.split = { train: 0.6, validation: 0, test: 0.4 };
  doc.tabular.oversample = { share: 0.5 };
  doc.tabular.model.baseline.epochs = 2;
  doc.tabular.training.epochs = 2;
  doc.tabular.training.steps = 3;
  doc.tabular.limit = 8;
  doc.tabular.attacks = [
    { id: 'tabular-apgd', options: { steps: 5 } },
    { id: 'tabular-pgd', options: { steps: 5, restarts: 1 } },
    { id: 'lowprofool', options: { steps: 10 } },
    { id: 'tabular-random-search', options: { queries: 20 } },
  ];
  doc.evaluation = { latencySamples: 10 };
  doc.criteria = { cleanAccuracy: 0.5, robustAccuracy: { 'sensor-obfuscation': 0 } };
  edit(doc);
  return stringify(doc);
}

function planIssues(text: string): string[] {
  try {
    parsePlanText(text, 'sensor.yaml');
  } catch (error) {
    assert.ok(error instanceof PlanError, `expected a PlanError, got ${String(error)}`);
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return assert.fail('the plan was accepted');
}

let hardenedRun: { dir: string; numbers: ConstrainedNumbers } | undefined;

describe('the sensor plan', () => {
  before(async () => {
    await engine();
    // Every anomaly among the first readings and the normal ones around them: 600 rows, 2 classes.
    const [header, ...rows] = readFileSync(sensorCsvPath(), 'utf8').trim().split('\n');
    const anomalies = rows.filter((r) => r.endsWith(',1')).slice(0, 40);
    const normal = rows.filter((r) => r.endsWith(',0')).slice(0, 560);
    writeFileSync(csv, [header, ...normal, ...anomalies].join('\n') + '\n');
  });

  it('is accepted as shipped', () => {
    const plan = parsePlanText(PLAN, 'examples/sensor/rampart.yaml');
    const threat = plan.threats[0];
    assert.ok(threat?.channel === 'tabular' && threat.constraints);
    assert.deepEqual(threat.constraints.immutable, ['mote_id', 'indoor']);
    assert.ok(plan.tabular && 'architecture' in plan.tabular.model);
    assert.equal(plan.tabular.training?.threat, 'sensor-obfuscation');
  });

  it('builds, hardens and attacks under the constraints, and gates on the numbers', async () => {
    const plan = parsePlanText(tinyPlan('sensor-tiny'), 'sensor.yaml');
    const tensors = tf.memory().numTensors;
    const result = await runPlan(plan, { dir: join(dir, 'run') });
    assert.equal(tf.memory().numTensors, tensors, 'the tabular stage disposes every tensor it made');
    assert.deepEqual(
      result.stages.map((s) => s.id),
      ['tabular', 'evaluate', 'gate', 'report', 'register'],
    );
    const tab = result.tabular;
    assert.ok(tab?.training?.hardened);
    assert.deepEqual(tab.data.features, ['mote_id', 'indoor', 'humidity', 'temperature']);
    const attacked = tab.evaluated.count;
    assert.ok(attacked > 0 && attacked <= 8);
    for (const model of [tab.training.baseline, tab.training.hardened]) {
      // Four attacks on every attacked row, each adversarial example checked against the constraints.
      assert.equal(model.numbers.checked, 4 * attacked);
      const robust = model.numbers.robust['sensor-obfuscation'];
      assert.ok(robust && robust.n === attacked && robust.lower <= robust.value && robust.value <= robust.upper);
      assert.ok(model.numbers.balancedAccuracy >= 0 && model.numbers.balancedAccuracy <= 1);
    }
    assert.equal(tab.robust['sensor-obfuscation']?.value, tab.training.hardened.numbers.robust['sensor-obfuscation']?.value);
    const results = await loadResults(result.files.results);
    assert.equal(results.robustAccuracy['sensor-obfuscation'], tab.robust['sensor-obfuscation']?.value);
    assert.equal(result.gate.passed, true);
    const html = readFileSync(result.files.report, 'utf8');
    assert.match(html, /every adversarial example of sensor-obfuscation was checked against the threat/);
    assert.match(html, /Tabular hardening \(constrained PGD-AT\)/);
    hardenedRun = { dir: join(dir, 'run', 'runs', 'sensor-tiny', tab.training.hardened.modelDir), numbers: tab.training.hardened.numbers };

    // Both models are registered with the plan and the data set as parents; the evaluation names the hardened one.
    const gov = openGovernance(join(dir, 'run'));
    try {
      const registered = result.governance;
      assert.ok(registered);
      const baseline = gov.registry.get(registered.models['tabular-baseline'] as string);
      const hardened = gov.registry.get(registered.models.tabular as string);
      assert.equal(baseline.meta.filesSha256, tab.training.baseline.sha256);
      assert.deepEqual(baseline.parents, hardened.parents);
      assert.ok(hardened.parents.length >= 2);
      const evaluation = gov.registry.get(registered.evaluations.candidate);
      assert.ok(evaluation.parents.includes(hardened.digest) && !evaluation.parents.includes(baseline.digest));
    } finally {
      gov.close();
    }
  });

  it('evaluates your model under the constraints too: the saved hardened model as a source measures the same', async () => {
    assert.ok(hardenedRun, 'runs after the built plan');
    const source = hardenedRun.dir;
    const plan = parsePlanText(
      tinyPlan('sensor-source', (doc) => {
        doc.tabular.model = { source };
        delete doc.tabular.training;
      }),
      'sensor.yaml',
    );
    const result = await runPlan(plan, { dir: join(dir, 'source'), governance: false });
    const tab = result.tabular;
    assert.ok(tab && !tab.training);
    assert.deepEqual(tab.robust['sensor-obfuscation'], hardenedRun.numbers.robust['sensor-obfuscation']);
    assert.equal(tab.balancedAccuracy, hardenedRun.numbers.balancedAccuracy);
  });

  it('names the path of a bad constraint', () => {
    const lines = planIssues(
      tinyPlan('bad', (doc) => {
        doc.threats[0].constraints.budgets.humidity = -1;
        doc.threats[0].constraints.sideways = true;
      }),
    );
    assert.ok(
      lines.some((l) => l.startsWith('threats[0].constraints.budgets.humidity') && /budgets must be >= 0/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => l.startsWith('threats[0].constraints.sideways') && /unknown field/.test(l)),
      lines.join('\n'),
    );
  });

  it('fails a constraint on a feature the CSV lacks, listing the header', async () => {
    const plan = parsePlanText(
      tinyPlan('unknown', (doc) => {
        doc.threats[0].constraints.immutable = ['mote_id', 'node'];
      }),
      'sensor.yaml',
    );
    await assert.rejects(
      runPlan(plan, { dir: join(dir, 'unknown'), governance: false }),
      (e: unknown) =>
        e instanceof RampartError &&
        e.code === 'E_TABULAR_CONSTRAINTS' &&
        e.message.includes("'node'") &&
        e.message.includes('mote_id, indoor, humidity, temperature'),
    );
  });

  it('fails the stage when an attack ignores the constraints', async () => {
    // Plain PGD knows nothing of immutable features or budgets: its examples break them.
    const plan = parsePlanText(
      tinyPlan('plain-pgd', (doc) => {
        doc.tabular.attacks = [{ id: 'pgd', options: { steps: 5 } }];
        delete doc.tabular.training;
      }),
      'sensor.yaml',
    );
    await assert.rejects(
      runPlan(plan, { dir: join(dir, 'plain'), governance: false }),
      (e: unknown) => e instanceof RampartError && e.code === 'E_ATTACK_CONTRACT' && /constraint violation/.test(e.message),
    );
  });
});

describe('the tabular training section', () => {
  it('must harden a built model against a tabular threat', () => {
    const lines = planIssues(
      tinyPlan('source-trained', (doc) => {
        doc.tabular.model = { source: 'models/sensor' };
        doc.tabular.training.threat = 'elsewhere';
      }),
    );
    assert.ok(
      lines.some((l) => l.startsWith('tabular.training:') && /architecture/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => l.startsWith('tabular.training.threat:') && /'sensor-obfuscation'/.test(l)),
      lines.join('\n'),
    );
  });
});

describe('the tabular-pgd-at objective in the registry', () => {
  it('takes a compiled tabular threat and refuses a plain one', () => {
    const threat = tabularThreat(
      { id: 't', constraints: { immutable: ['a'], norm: { kind: 'linf', epsilon: 0.5, scale: 'none' } } },
      { features: 2, featureNames: ['a', 'b'], bounds: { min: 0, max: 1 } },
    );
    const objective = createObjective('tabular-pgd-at', { threat, steps: 3, attackClasses: [1] });
    assert.equal(objective.id, 'tabular-pgd-at');
    assert.deepEqual(objective.config, { threat: 't', steps: 3, stepSize: (2.5 * 0.5) / 3, mixRatio: 1, attackClasses: [1] });
    assert.throws(
      () => createObjective('tabular-pgd-at', { threat: { norm: 'linf', epsilon: 0.5 } }),
      (e: unknown) => e instanceof RampartError && e.code === 'E_OBJECTIVE_OPTION' && /threat/.test(e.message),
    );
  });
});
