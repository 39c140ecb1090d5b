/** `rampart/core`: errors, seeded RNG, shared types and tensor helpers. */
export * from './core/errors.js';
export { createRng, type Rng } from './core/rng.js';
export { sizeOf, type Bounds, type Dataset, type DataProvenance, type SourceDigest } from './core/types.js';
export { batchTensor, gatherRows } from './core/tensors.js';
export { RAMPART_VERSION } from './core/version.js';
