/**
 * The wiring of the built-in shard handlers: attack shards (every registered attack) and
 * gradient shards (every registered objective). Pool workers and the local executor
 * register these; nothing else in execution imports the attack or objective catalogs.
 */
import { attackHandler } from './attack.js';
import { gradientsHandler } from './gradients.js';
import { HandlerRegistry } from './registry.js';

/** A fresh registry with the built-in handlers (`attack`, `gradients`). */
export function defaultHandlers(): HandlerRegistry {
  return new HandlerRegistry().register(attackHandler()).register(gradientsHandler());
}

export { HandlerRegistry, type ModelInfo, type ProgressSink, type ShardHandler, type ShardTarget } from './registry.js';
