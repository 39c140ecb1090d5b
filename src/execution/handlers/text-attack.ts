/**
 * The `text-attack` shard handler: a shard of texts attacked by a registered text search
 * against a saved text filter. The shard carries its first text's index in the run
 * (`firstRow`), and the search gives each text the generator the whole run would, so a run
 * cut into shards gives the same texts, edits and query counts as one `attack.run` call,
 * whatever the shard size or executor.
 */
import { UsageError } from '../../core/errors.js';
import { createTextAttack } from '../../attacks/text/registry.js';
import type { TextAttackResult } from '../../attacks/text/types.js';
import type { TextThreatModel } from '../../threats/text-threat.js';
import type { AnyShardTarget, ShardHandler, TextShardTarget } from './registry.js';

export const TEXT_ATTACK_KIND = 'text-attack';

/** One shard of a text attack: plain data, so a worker can rebuild the search. */
export interface TextAttackShard {
  attackId: string;
  attackOptions: Record<string, unknown>;
  threat: TextThreatModel;
  texts: string[];
  labels: Int32Array;
  /** The run's seed (not a per-shard seed: `firstRow` places the shard in the run's generator stream). */
  seed: number;
  firstRow: number;
}

export type TextAttackShardResult = TextAttackResult;

/** @throws UsageError `E_EXECUTOR_MODEL` for a target that is not a text filter. */
export function textTarget(target: AnyShardTarget): TextShardTarget {
  if (!('text' in target)) {
    throw new UsageError(
      'E_EXECUTOR_MODEL',
      'Text attack shards need a saved text filter; open the executor with { kind: "text-filter", dir }.',
    );
  }
  return target;
}

/** A new `text-attack` handler. */
export function textAttackHandler(): ShardHandler<TextAttackShard, TextAttackShardResult, AnyShardTarget> {
  return {
    kind: TEXT_ATTACK_KIND,
    run: (target, shard, onProgress) =>
      createTextAttack(shard.attackId, shard.attackOptions).run(textTarget(target).text, shard.texts, shard.labels, shard.threat, {
        seed: shard.seed,
        firstRow: shard.firstRow,
        ...(onProgress ? { onProgress: (p: { done: number; total: number }) => onProgress(p.done, p.total) } : {}),
      }),
  };
}
