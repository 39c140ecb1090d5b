/**
 * Executors: rows of work (attack shards), gradient shards, certification shards and text
 * attack shards, run in this thread, on a worker pool or on a Redis queue with identical
 * results for the same seed. Shard work is done by handlers registered by kind; the
 * executors import no attack or objective.
 */
export { createWorkerPool, localExecutor } from './create.js';
export { DEFAULT_SHARD_ROWS, isAttack, isTextFilterModel, withSession } from './executor.js';
export type {
  ExecutionInfo,
  ExecutionModel,
  Executor,
  ExecutorSession,
  RowsResult,
  RowsWork,
  ShardsWork,
  TextFilterModel,
} from './executor.js';
export { LocalExecutor, LocalSession } from './local.js';
export { defaultHandlers } from './handlers/index.js';
export {
  HandlerRegistry,
  type AnyShardTarget,
  type ModelInfo,
  type ShardHandler,
  type ShardTarget,
  type TextShardTarget,
} from './handlers/registry.js';
export { CERTIFY_KIND, type CertifyShard, type CertifyShardResult } from './handlers/certify.js';
export { TEXT_ATTACK_KIND, type TextAttackShard, type TextAttackShardResult } from './handlers/text-attack.js';
export { attackTexts, DEFAULT_TEXT_SHARD_ROWS, type TextRowsWork } from './text-attack.js';
export { runAttackShard } from './run-attack-shard.js';
export { attackDataset, type DatasetAttackOptions, type DatasetAttackResult, type ExampleOutcome } from './attack-dataset.js';
export * from './pool/index.js';
export * from './queue/index.js';
export { ATTACK_KIND, GRADIENTS_KIND } from './shards.js';
export type { AttackShard, AttackShardResult, AttackSpec, GradientsShard, GradientsShardResult } from './shards.js';
