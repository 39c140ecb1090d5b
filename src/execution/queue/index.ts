/**
 * The queue executor (BullMQ on Redis): shards of rows as jobs, models and data by content
 * digest, `rampart worker` processes on any machine that reaches Redis. See docs/SCALING.md.
 */
export { createQueueExecutor, QueueExecutor } from './executor.js';
export { startQueueWorker, type QueueWorkerHandle, type WorkerEvent } from './worker.js';
export { encodeModel, modelCodec, registerModelCodec, tfjsLayersCodec, type ModelCodec, type ModelRef } from './models.js';
export { queueName, redactUrl, redisConnection, type QueueExecutorOptions, type QueueWorkerOptions } from './options.js';
