/** `rampart/serve`: the guarded model server. */
export { buildServer, errorResponse, type BuildServerOptions, type ServerState } from './serve/app.js';
export { directorySource, registrySource, memorySource, loadServedModel, type ModelSource, type StagedMove } from './serve/model-source.js';
export { imageServedModel, textServedModel, type ServedModel, type ModelRef } from './serve/served-model.js';
export {
  KeyStore,
  AuthFailures,
  authenticateFrom,
  addApiKey,
  generateApiKey,
  hashApiKey,
  authorize,
  ROLES,
  type Role,
  type Principal,
  type FailureBudget,
} from './serve/auth.js';
export { parseServeConfig, readServeConfig, type ServeConfig, type ServeConfigInput } from './serve/config.js';
export { DriftMonitor, psi } from './serve/monitor.js';
export { Canary, generateProbeSet, readProbeFile, probeAccuracy, type ProbeSet } from './serve/canary.js';
export { RollbackController, createAlerter, type RollbackPolicy } from './serve/rollback.js';
export { ModelHolder } from './serve/model-holder.js';
