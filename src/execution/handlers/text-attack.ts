/**
 * The `text-attack` shard handler: a shard of texts attacked by a registered text search
 * against a saved text filter. The shard carries its first text's index in the run
 * (`firstRow`), and the search gives each text the generator the whole run would, so a run
 * cut into shards gives the same texts, edits and query counts as one `attack.run` call,
 * whatever the shard size or executor.
 */
import { InputError, UsageError } from '../../core/errors.js';
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
  /** The texts as UTF-8 (`packTexts`): bytes travel beside the job, not in its small JSON part. */
  texts: PackedTexts;
  labels: Int32Array;
  /** The run's seed (not a per-shard seed: `firstRow` places the shard in the run's generator stream). */
  seed: number;
  firstRow: number;
}

export type TextAttackShardResult = TextAttackResult;

/** Texts as one UTF-8 buffer and each text's end offset. */
export interface PackedTexts {
  utf8: Uint8Array;
  ends: Int32Array;
}

/** `texts` as one UTF-8 buffer (texts are unbounded; a job's JSON part is limited to 64 KiB). */
export function packTexts(texts: readonly string[]): PackedTexts {
  const encoder = new TextEncoder();
  const parts = texts.map((t) => encoder.encode(t));
  const utf8 = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  const ends = new Int32Array(parts.length);
  let offset = 0;
  parts.forEach((p, i) => {
    utf8.set(p, offset);
    offset += p.length;
    ends[i] = offset;
  });
  return { utf8, ends };
}

/**
 * The texts of `packed`.
 *
 * @throws InputError `E_INPUT_LENGTH` for offsets that do not fit the buffer.
 */
export function unpackTexts(packed: PackedTexts): string[] {
  const decoder = new TextDecoder();
  const out: string[] = [];
  let start = 0;
  for (const end of packed.ends) {
    if (end < start || end > packed.utf8.length) {
      throw new InputError('E_INPUT_LENGTH', 'A text attack shard is malformed (text offsets outside its bytes); resend it.');
    }
    out.push(decoder.decode(packed.utf8.subarray(start, end)));
    start = end;
  }
  return out;
}

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
      createTextAttack(shard.attackId, shard.attackOptions).run(
        textTarget(target).text,
        unpackTexts(shard.texts),
        shard.labels,
        shard.threat,
        {
          seed: shard.seed,
          firstRow: shard.firstRow,
          ...(onProgress ? { onProgress: (p: { done: number; total: number }) => onProgress(p.done, p.total) } : {}),
        },
      ),
  };
}
