/** Worker-thread pool for attacks and synchronous data-parallel training. */
export {
  DEFAULT_SHARD_ROWS,
  WorkerPool,
  applyPoolGradients,
  createWorkerPool,
  type PoolAttackRequest,
  type PoolAttackResult,
  type PoolGradients,
  type PoolGradientsRequest,
  type PoolModelHandle,
  type PoolProgress,
  type WorkerExitEvent,
  type WorkerPoolOptions,
} from './pool.js';
export { evenRanges, shardRanges, shardSeed, type PoolBatchContext } from './protocol.js';
