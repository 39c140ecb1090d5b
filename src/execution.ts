/** `rampart/execution`: executors: in-process and the worker pool. */
export { attackDataset, type DatasetAttackOptions, type DatasetAttackResult } from './execution/attack-dataset.js';
export {
  createWorkerPool,
  localExecutor,
  WorkerPool,
  applyPoolGradients,
  type WorkerPoolOptions,
  type Executor,
  type ExecutorSession,
  type RowsWork,
} from './execution/index.js';
