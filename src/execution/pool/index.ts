/** Worker-thread pool for attacks and synchronous data-parallel training. */
export { WorkerPool, type WorkerPoolOptions } from './pool.js';
export { createWorkerPool } from '../create.js';
export { DEFAULT_SHARD_ROWS } from '../executor.js';
export { applyPoolGradients } from '../../training/gradient-sharder.js';
export type { PoolAttackRequest, PoolAttackResult, PoolProgress } from './attack-shards.js';
export type { PoolGradients, PoolGradientsRequest } from './gradient-shards.js';
export type { PoolModelHandle } from './models.js';
export type { WorkerExitEvent } from './recovery.js';
export { evenRanges, shardRanges, shardSeed, type PoolBatchContext } from '../shards.js';
