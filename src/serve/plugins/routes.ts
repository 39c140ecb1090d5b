/** The HTTP routes (see `routes/`), registered once every plugin they read is in place. */
import type { FastifyInstance } from 'fastify';
import { registerAdminRoutes } from '../routes/admin.js';
import { registerHealthRoutes } from '../routes/health.js';
import { registerModelRoutes } from '../routes/models.js';
import { registerPredictRoutes } from '../routes/predict.js';
import { servePlugin } from './plugin.js';

export const routesPlugin = servePlugin(
  'rampart-routes',
  { decorators: ['rampart'], dependencies: ['rampart-auth'] },
  async (app: FastifyInstance) => {
    registerHealthRoutes(app);
    registerModelRoutes(app);
    registerPredictRoutes(app);
    registerAdminRoutes(app);
  },
);
