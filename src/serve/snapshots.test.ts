import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openGovernance } from '../governance/index.js';
import { createMetrics } from './metrics.js';
import { SnapshotStore, collectSnapshot } from './snapshots.js';

describe('metrics snapshots', () => {
  it('collect the live metrics and survive reopening the registry', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rampart-snap-'));
    const dir = join(root, '.rampart');
    openGovernance(dir).close();
    const metrics = createMetrics({ defaults: false });
    metrics.anomalyRate.set(0.125);
    metrics.canaryAccuracy.set(0.75);
    metrics.drift.set({ signal: 'confidence' }, 0.31);
    metrics.decisions.inc('rate-limit', 'deny', 4);
    metrics.decisions.inc('rate-limit', 'pass', 9);
    metrics.decisions.inc('ood', 'deny');
    metrics.rollbacks.inc({ trigger: 'canary' });
    const snapshot = await collectSnapshot(metrics, 'model-a', new Date('2026-01-02T03:04:05Z'));
    assert.deepEqual(snapshot, {
      at: '2026-01-02T03:04:05.000Z',
      model: 'model-a',
      anomalyRate: 0.125,
      canaryAccuracy: 0.75,
      drift: { confidence: 0.31 },
      denials: { 'rate-limit': 4, ood: 1 },
      rollbacks: 1,
      requests: 0,
    });
    const store = new SnapshotStore(dir);
    store.write(snapshot);
    store.write({ ...snapshot, at: '2026-01-02T03:05:05.000Z', anomalyRate: 0.5 });
    store.close();
    // The governance database still opens and checks clean with the extra table beside it.
    const gov = openGovernance(dir, { mustExist: true });
    assert.equal(gov.check().ok, true);
    gov.close();
    const reopened = new SnapshotStore(dir);
    assert.deepEqual(
      reopened.list({ since: '2026-01-02T03:05:00Z' }).map((s) => s.anomalyRate),
      [0.5],
    );
    assert.equal(reopened.list().length, 2);
    reopened.close();
    rmSync(root, { recursive: true, force: true });
  });
});
