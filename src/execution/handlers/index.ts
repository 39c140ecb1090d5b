/**
 * The wiring of the built-in shard handlers: attack shards (every registered attack),
 * gradient shards (every registered objective), certification shards (randomized
 * smoothing's sampling) and text attack shards (every registered text search). Pool
 * workers, queue workers and the local executor register these; nothing else in execution
 * imports the attack or objective catalogs.
 */
import { attackHandler } from './attack.js';
import { certifyHandler } from './certify.js';
import { gradientsHandler } from './gradients.js';
import { HandlerRegistry } from './registry.js';
import { textAttackHandler } from './text-attack.js';

/** A fresh registry with the built-in handlers (`attack`, `gradients`, `certify`, `text-attack`). */
export function defaultHandlers(): HandlerRegistry {
  return new HandlerRegistry()
    .register(attackHandler())
    .register(gradientsHandler())
    .register(certifyHandler())
    .register(textAttackHandler());
}

export {
  HandlerRegistry,
  type AnyShardTarget,
  type ModelInfo,
  type ProgressSink,
  type ShardHandler,
  type ShardTarget,
  type TextShardTarget,
} from './registry.js';
