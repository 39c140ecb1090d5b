/**
 * A text attack as rows of work: the texts are cut into shards of `shardRows`, each shard
 * carrying its first text's index (`firstRow`), run with the `text-attack` handler on the
 * session's saved text filter, and merged back in order. Each text gets the generator one
 * `attack.run` call over all texts would give it, so the results are that call's on any
 * executor, for any shard size or number of workers.
 */
import { InputError } from '../core/errors.js';
import { createTextAttack } from '../attacks/text/registry.js';
import type { TextAttackResult } from '../attacks/text/types.js';
import type { TextThreatModel } from '../threats/text-threat.js';
import type { ExecutorSession } from './executor.js';
import { packTexts, TEXT_ATTACK_KIND, type TextAttackShard, type TextAttackShardResult } from './handlers/text-attack.js';
import { shardRanges } from './shards.js';

/** Texts per shard unless told otherwise: a text costs up to the search's query budget. */
export const DEFAULT_TEXT_SHARD_ROWS = 16;

export interface TextRowsWork {
  /** A registered text search by id and options (`createTextAttack`). */
  attack: { id: string; options?: Record<string, unknown> };
  texts: readonly string[];
  labels: Int32Array;
  threat: TextThreatModel;
  seed: number;
  /** Texts per shard; default 16. Does not change the results. */
  shardRows?: number;
  /** Texts done so far (fractional while a shard runs), of `texts.length`. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Attacks `work.texts` with a session opened on a saved text filter (`{ kind: 'text-filter', dir }`).
 *
 * @throws UsageError `E_UNKNOWN_TEXT_ATTACK` / `E_TEXT_ATTACK_OPTION` before any work is sent;
 *   InputError `E_INPUT_LENGTH` when texts and labels differ in length; the search's own errors.
 * @example
 * const filter = { kind: 'text-filter' as const, dir };
 * const r = await withSession(executor, filter, (s) => attackTexts(s, { attack: { id: 'greedy' }, texts, labels, threat, seed: 1 }));
 */
export async function attackTexts(session: ExecutorSession, work: TextRowsWork): Promise<TextAttackResult> {
  const options = work.attack.options ?? {};
  createTextAttack(work.attack.id, options); // a bad id or option throws here, before any shard is sent
  const n = work.texts.length;
  if (work.labels.length !== n) {
    throw new InputError('E_INPUT_LENGTH', `Got ${n} texts and ${work.labels.length} labels; pass one label per text.`, {
      details: { texts: n, labels: work.labels.length },
    });
  }
  const ranges = shardRanges(n, work.shardRows ?? DEFAULT_TEXT_SHARD_ROWS);
  const results = await session.runShards<TextAttackShard, TextAttackShardResult>({
    kind: TEXT_ATTACK_KIND,
    shards: ranges.map(([start, end]) => ({
      attackId: work.attack.id,
      attackOptions: options,
      threat: work.threat,
      texts: packTexts(work.texts.slice(start, end)),
      labels: work.labels.slice(start, end),
      seed: work.seed,
      firstRow: start,
    })),
    rows: ranges.map(([start, end]) => end - start),
    ...(work.onProgress ? { onProgress: work.onProgress } : {}),
  });
  const out: TextAttackResult = {
    adversarial: [],
    success: new Uint8Array(n),
    queries: new Int32Array(n),
    changedWordFraction: new Float32Array(n),
    changes: [],
    originalCorrect: new Uint8Array(n),
  };
  ranges.forEach(([start], k) => {
    const r = results[k] as TextAttackShardResult;
    out.adversarial.push(...r.adversarial);
    out.changes.push(...r.changes);
    out.success.set(r.success, start);
    out.queries.set(r.queries, start);
    out.changedWordFraction.set(r.changedWordFraction, start);
    out.originalCorrect.set(r.originalCorrect, start);
  });
  return out;
}
