/** The stage runner on small counting stages: keys, caching, invalidation, crash and resume. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canonicalJson, digestOf } from '../src/pipeline/run/hash.js';
import { runStages, stageRecordPath } from '../src/pipeline/run/runner.js';
import { stageRef, type RunEnvironment, type Stage } from '../src/pipeline/run/types.js';
import type { Plan } from '../src/pipeline/plan/schema.js';

interface Counters {
  runs: Record<string, number>;
  failOnce: Set<string>;
}

/** a → b → c, where b multiplies a's value by the `factor` input and writes a file. */
function stages(counters: Counters, inputs: { start: number; factor: number; label: string }): Stage[] {
  const count = (id: string): void => {
    counters.runs[id] = (counters.runs[id] ?? 0) + 1;
    if (counters.failOnce.delete(id)) throw new Error(`simulated crash in ${id}`);
  };
  return [
    {
      id: 'a',
      title: 'a',
      version: 1,
      dependsOn: [],
      inputs: () => ({ start: inputs.start }),
      run: async () => (count('a'), { value: inputs.start, tookMs: performance.now() }),
      volatile: ['tookMs'],
    },
    {
      id: 'b',
      title: 'b',
      version: 1,
      dependsOn: ['a'],
      inputs: () => ({ factor: inputs.factor }),
      run: async (ctx) => {
        count('b');
        const file = join(ctx.workDir, 'b.txt');
        const value = ctx.output(stageRef<{ value: number }>('a')).value * inputs.factor;
        await writeFile(file, String(value));
        return { value, file: ctx.relative(file) };
      },
      stillValid: async (o: { file: string }, ctx) =>
        await readFile(ctx.resolve(o.file), 'utf8').then(
          () => true,
          () => false,
        ),
    } as Stage,
    {
      id: 'c',
      title: 'c',
      version: 1,
      dependsOn: ['b'],
      inputs: () => ({ label: inputs.label }),
      run: async (ctx) => (count('c'), { text: `${inputs.label}=${ctx.output(stageRef<{ value: number }>('b')).value}` }),
    },
  ];
}

function env(runDir: string): RunEnvironment {
  return { plan: { name: 'toy' } as Plan, runDir, extras: {} };
}

describe('stage runner', () => {
  it('hashes values canonically: key order does not matter, values do', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ y: 2, x: 1 }] }), '{"a":[{"x":1,"y":2}],"b":1}');
    assert.equal(digestOf({ a: 1, b: 2 }), digestOf({ b: 2, a: 1 }));
    assert.notEqual(digestOf({ a: 1 }), digestOf({ a: 2 }));
  });

  it('skips unchanged stages and reruns only what a changed input reaches', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'rampart-stages-'));
    const counters: Counters = { runs: {}, failOnce: new Set() };
    const first = await runStages(stages(counters, { start: 2, factor: 3, label: 'x' }), env(runDir));
    assert.deepEqual(
      first.summaries.map((s) => s.status),
      ['ran', 'ran', 'ran'],
    );
    assert.deepEqual(first.outputs.c, { text: 'x=6' });

    const events: string[] = [];
    const second = await runStages(stages(counters, { start: 2, factor: 3, label: 'x' }), env(runDir), {
      onEvent: (e) => e.type === 'stage-end' && events.push(`${e.stage}:${e.status}`),
    });
    assert.deepEqual(events, ['a:cached', 'b:cached', 'c:cached']);
    assert.deepEqual(counters.runs, { a: 1, b: 1, c: 1 });
    assert.deepEqual(second.outputs.c, { text: 'x=6' });

    // A downstream-only change reruns that stage alone.
    await runStages(stages(counters, { start: 2, factor: 3, label: 'y' }), env(runDir));
    assert.deepEqual(counters.runs, { a: 1, b: 1, c: 2 });
    // An upstream change reruns it and everything whose inputs it changed.
    const third = await runStages(stages(counters, { start: 5, factor: 3, label: 'y' }), env(runDir));
    assert.deepEqual(counters.runs, { a: 2, b: 2, c: 3 });
    assert.deepEqual(third.outputs.c, { text: 'y=15' });
    // force reruns everything.
    await runStages(stages(counters, { start: 5, factor: 3, label: 'y' }), env(runDir), { force: true });
    assert.deepEqual(counters.runs, { a: 3, b: 3, c: 4 });
  });

  it('a rerun that produces the same result does not invalidate downstream stages (volatile timings)', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'rampart-stages-'));
    const counters: Counters = { runs: {}, failOnce: new Set() };
    await runStages(stages(counters, { start: 1, factor: 2, label: 'z' }), env(runDir));
    await writeFile(stageRecordPath(runDir, 'a'), 'truncated');
    await runStages(stages(counters, { start: 1, factor: 2, label: 'z' }), env(runDir));
    assert.deepEqual(counters.runs, { a: 2, b: 1, c: 1 });
  });

  it('after a crash mid-stage, reruns only that stage and the ones after it', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'rampart-stages-'));
    const counters: Counters = { runs: {}, failOnce: new Set(['b']) };
    await assert.rejects(runStages(stages(counters, { start: 1, factor: 4, label: 'k' }), env(runDir)), /simulated crash in b/);
    assert.deepEqual(counters.runs, { a: 1, b: 1 });
    const resumed = await runStages(stages(counters, { start: 1, factor: 4, label: 'k' }), env(runDir));
    assert.deepEqual(
      resumed.summaries.map((s) => `${s.id}:${s.status}`),
      ['a:cached', 'b:ran', 'c:ran'],
    );
    assert.deepEqual(counters.runs, { a: 1, b: 2, c: 1 });
  });

  it('reruns a stage whose output files disappeared', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'rampart-stages-'));
    const counters: Counters = { runs: {}, failOnce: new Set() };
    const first = await runStages(stages(counters, { start: 1, factor: 1, label: 'f' }), env(runDir));
    const { rm } = await import('node:fs/promises');
    await rm(join(runDir, (first.outputs.b as { file: string }).file));
    await runStages(stages(counters, { start: 1, factor: 1, label: 'f' }), env(runDir));
    assert.deepEqual(counters.runs, { a: 1, b: 2, c: 1 });
  });

  it('refuses stages whose dependencies do not come first, and reads outside the dependencies', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'rampart-stages-'));
    const [a, b, c] = stages({ runs: {}, failOnce: new Set() }, { start: 1, factor: 1, label: 'o' }) as [Stage, Stage, Stage];
    await assert.rejects(
      runStages([b, a], env(runDir)),
      (e: Error & { code?: string }) => e.code === 'E_STAGE_ORDER' && /'b' depends on 'a'/.test(e.message),
    );
    const sneaky: Stage = { ...c, id: 'sneaky', dependsOn: ['b'], run: async (ctx) => ctx.output(stageRef('a')) };
    await assert.rejects(
      runStages([a, b, sneaky], env(runDir)),
      (e: Error & { code?: string }) => e.code === 'E_STAGE_ORDER' && /not among its dependencies/.test(e.message),
    );
  });
});
