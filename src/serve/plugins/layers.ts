/** Builds the defence layers for the live model and decorates the server with them (`defenceLayers`). */
import type { FastifyInstance } from 'fastify';
import { buildLayers } from '../layers.js';
import { servePlugin } from './plugin.js';

export const layersPlugin = servePlugin('rampart-layers', { decorators: ['serveCore'] }, async (app: FastifyInstance) => {
  const { config, holder, options } = app.serveCore;
  const set = await buildLayers({
    config,
    first: holder.current,
    // The detector of the model the request leased, even when a swap happened meanwhile.
    oodOf: (id) => holder.find(id)?.ood,
    textNormalization: () => holder.current.textNormalization,
    ...(options.extraInputLayers ? { extra: options.extraInputLayers } : {}),
    ...(options.ensemble ? { ensemble: options.ensemble } : {}),
  });
  app.decorate('defenceLayers', set);
  app.addHook('onClose', async () => set.dispose());
});
