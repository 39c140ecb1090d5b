/**
 * The stage runner. A stage's key is the sha256 of its id, version, canonical inputs and
 * the digests of its upstream outputs; its outputs and a record are written atomically to
 * `<runDir>/stages/<id>.json` only after it finishes. So an unchanged rerun finds every
 * record with the same key and does no work, a changed input reruns that stage and
 * everything downstream whose inputs actually changed, and a crash mid-stage leaves no
 * record, so only that stage reruns (in the same key-named work directory, where training
 * resumes from its own checkpoints).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { writeJsonFile } from '../../core/files.js';
import { digestOf } from './hash.js';
import type { RunEnvironment, RunEvent, Stage, StageContext, StageRecord, StageRef, StageSummary } from './types.js';

export interface RunStagesOptions {
  /** Rerun every stage even when its record matches. */
  force?: boolean;
  onEvent?: (event: RunEvent) => void;
}

export interface StagesResult {
  outputs: Record<string, unknown>;
  records: Record<string, StageRecord>;
  summaries: StageSummary[];
}

/** Where a stage's record lives. */
export function stageRecordPath(runDir: string, stageId: string): string {
  return join(runDir, 'stages', `${stageId}.json`);
}

async function readRecord(path: string): Promise<StageRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as StageRecord;
    return parsed.kind === 'rampart.stage-record' ? parsed : undefined;
  } catch {
    // Missing or unreadable (e.g. truncated by a crash outside the atomic write): rerun.
    return undefined;
  }
}

function stableOutputs(outputs: unknown, volatile: readonly string[] | undefined): unknown {
  if (!volatile || outputs === null || typeof outputs !== 'object') return outputs;
  return Object.fromEntries(Object.entries(outputs as Record<string, unknown>).filter(([k]) => !volatile.includes(k)));
}

/** Checks ids are unique and every dependency comes earlier. @throws ConfigError `E_STAGE_ORDER`. */
function checkOrder(stages: readonly Stage[]): void {
  const seen = new Set<string>();
  for (const stage of stages) {
    if (seen.has(stage.id)) throw new ConfigError('E_STAGE_ORDER', `Stage '${stage.id}' appears twice.`);
    for (const dep of stage.dependsOn) {
      if (!seen.has(dep))
        throw new ConfigError(
          'E_STAGE_ORDER',
          `Stage '${stage.id}' depends on '${dep}', which does not run before it; order the stages so dependencies come first.`,
        );
    }
    seen.add(stage.id);
  }
}

/**
 * Runs stages in order, skipping each whose recorded key matches.
 *
 * @throws ConfigError `E_STAGE_ORDER` for a dependency that does not come earlier; whatever a stage throws.
 * @example const { outputs } = await runStages([dataStage, baselineStage], env, { onEvent: console.log });
 */
export async function runStages(stages: readonly Stage[], env: RunEnvironment, options: RunStagesOptions = {}): Promise<StagesResult> {
  checkOrder(stages);
  const outputs: Record<string, unknown> = {};
  const records: Record<string, StageRecord> = {};
  const summaries: StageSummary[] = [];
  const emit = options.onEvent ?? (() => undefined);
  const runDir = resolve(env.runDir);

  for (const [index, stage] of stages.entries()) {
    const began = Date.now();
    const inputs = await stage.inputs(env);
    const upstream: Record<string, string> = {};
    for (const dep of stage.dependsOn) upstream[dep] = (records[dep] as StageRecord).outputsDigest;
    const key = digestOf({ stage: stage.id, version: stage.version, inputs, upstream });
    const workDir = join(runDir, 'work', `${stage.id}-${key.slice(0, 12)}`);
    // Only dependencies are visible to a stage, so its key covers everything it reads.
    const visible: Record<string, unknown> = {};
    for (const dep of stage.dependsOn) visible[dep] = outputs[dep];
    const ctx: StageContext = {
      ...env,
      runDir,
      workDir,
      relative: (path) => (isAbsolute(path) ? relative(runDir, path) : path),
      resolve: (path) => (isAbsolute(path) ? path : join(runDir, path)),
      output: <O>(ref: StageRef<O>): O => {
        if (!(ref.id in visible))
          throw new ConfigError(
            'E_STAGE_ORDER',
            `Stage '${stage.id}' read the outputs of '${ref.id}', which is not among its dependencies.`,
          );
        // The one place outputs meet their type: a stage's outputs are what its run returned (or its record holds).
        return visible[ref.id] as O;
      },
      progress: (done, total, label) =>
        emit({ type: 'stage-progress', stage: stage.id, done, total, ...(label === undefined ? {} : { label }) }),
      log: (line) => emit({ type: 'stage-log', stage: stage.id, line }),
    };

    emit({ type: 'stage-start', stage: stage.id, title: stage.title, index, count: stages.length });
    const path = stageRecordPath(runDir, stage.id);
    const previous = options.force ? undefined : await readRecord(path);
    if (previous && previous.key === key && (!stage.stillValid || (await stage.stillValid(previous.outputs, ctx)))) {
      outputs[stage.id] = previous.outputs;
      records[stage.id] = previous;
      const durationMs = Date.now() - began;
      summaries.push({ id: stage.id, title: stage.title, status: 'cached', key, durationMs, ranForMs: previous.durationMs });
      emit({ type: 'stage-end', stage: stage.id, title: stage.title, index, count: stages.length, status: 'cached', durationMs });
      continue;
    }
    await mkdir(workDir, { recursive: true });
    const startedAt = new Date();
    const result = await stage.run(ctx);
    const finishedAt = new Date();
    const record: StageRecord = {
      kind: 'rampart.stage-record',
      schemaVersion: 1,
      stage: stage.id,
      version: stage.version,
      key,
      inputs,
      upstream,
      outputs: result,
      outputsDigest: digestOf(stableOutputs(result, stage.volatile)),
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    };
    await writeJsonFile(path, record);
    outputs[stage.id] = result;
    records[stage.id] = record;
    summaries.push({ id: stage.id, title: stage.title, status: 'ran', key, durationMs: Date.now() - began, ranForMs: record.durationMs });
    emit({
      type: 'stage-end',
      stage: stage.id,
      title: stage.title,
      index,
      count: stages.length,
      status: 'ran',
      durationMs: Date.now() - began,
    });
  }
  return { outputs, records, summaries };
}
