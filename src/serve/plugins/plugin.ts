/**
 * How a serve concern becomes a Fastify plugin: it shares its decorations with the whole
 * server (what `fastify-plugin` does, through Fastify's own `skip-override` symbol), and it
 * declares the decorations and plugins it needs, which Fastify checks at registration, so a
 * plugin registered out of order fails at startup naming what is missing.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

export interface PluginNeeds {
  /** Instance decorations that must exist before this plugin registers. */
  decorators?: string[];
  /** Plugins (by name) that must be registered before this one. */
  dependencies?: string[];
}

/** Wraps `fn` as a named, non-encapsulated plugin with its declared needs. */
export function servePlugin(name: string, needs: PluginNeeds, fn: (app: FastifyInstance) => Promise<void>): FastifyPluginAsync {
  const plugin = (async (app: FastifyInstance) => fn(app)) as unknown as FastifyPluginAsync & Record<symbol, unknown>;
  plugin[Symbol.for('skip-override')] = true;
  plugin[Symbol.for('fastify.display-name')] = name;
  plugin[Symbol.for('plugin-meta')] = { name, decorators: { fastify: needs.decorators ?? [] }, dependencies: needs.dependencies ?? [] };
  return plugin;
}
