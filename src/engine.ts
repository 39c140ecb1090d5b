/** `rampart/engine`: TF.js backend selection. */
export { initEngine, engineInfo, BACKEND_NAMES, type BackendName, type EngineInfo } from './engine/backend.js';
