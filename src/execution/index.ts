/**
 * Executors: rows of work (attack shards) and gradient shards, run in this thread or on a
 * worker pool with identical results for the same seed. Shard work is done by handlers
 * registered by kind; the executors import no attack or objective.
 */
export { createWorkerPool, localExecutor } from './create.js';
export { DEFAULT_SHARD_ROWS, isAttack, withSession } from './executor.js';
export type { ExecutionInfo, Executor, ExecutorSession, RowsResult, RowsWork } from './executor.js';
export { LocalExecutor, LocalSession } from './local.js';
export { defaultHandlers } from './handlers/index.js';
export { HandlerRegistry, type ModelInfo, type ShardHandler, type ShardTarget } from './handlers/registry.js';
export { runAttackShard } from './run-attack-shard.js';
export { attackDataset, type DatasetAttackOptions, type DatasetAttackResult, type ExampleOutcome } from './attack-dataset.js';
export * from './pool/index.js';
export { ATTACK_KIND, GRADIENTS_KIND } from './shards.js';
export type { AttackShard, AttackShardResult, AttackSpec, GradientsShard, GradientsShardResult } from './shards.js';
