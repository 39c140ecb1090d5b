/**
 * The sensor scenario end to end on 400 rows (every anomalous reading and 251 normal
 * ones): real data from the npm package, both models trained, all four tabular attacks
 * run, every adversarial example checked against the constraints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { engine } from './fixtures.js';
import { runSensorScenario } from '../examples/sensor/scenario.js';

test('sensor scenario on 400 rows: both models measured, no constraint violations, no leaks', async () => {
  await engine();
  const before = tf.memory().numTensors;
  const result = await runSensorScenario({
    limit: 400,
    epochs: 2,
    rareShare: 1,
    attacks: {
      'tabular-apgd': { steps: 10 },
      'tabular-pgd': { steps: 10 },
      lowprofool: { steps: 10 },
      'tabular-random-search': { queries: 20 },
    },
  });
  assert.equal(result.rows.train + result.rows.test, 400);
  assert.ok(result.rows.testAnomalies >= 40, `only ${result.rows.testAnomalies} anomalous test rows`);
  for (const m of [result.baseline, result.hardened]) {
    assert.equal(m.constraintViolations, 0);
    assert.ok(m.cleanAccuracy > 0.5 && m.cleanAccuracy <= 1);
    const worst = m.robustRecall['worst-case'] as number;
    for (const id of ['tabular-apgd', 'tabular-pgd', 'lowprofool', 'tabular-random-search']) {
      assert.ok(worst <= (m.robustRecall[id] as number), `worst case above ${id}`);
    }
    assert.ok(worst <= m.recall[1], 'an attack cannot raise recall');
  }
  assert.equal(tf.memory().numTensors, before, 'the scenario leaked tensors');
});
