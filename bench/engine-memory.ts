/**
 * One PGD-AT step of a bench:engine real-model workload in a fresh process, for its
 * memory: prints {"peakRssBytes", "tensorPeakBytes", "wasmHeapBytes"} as one JSON line.
 * Peak RSS is the process's maxRSS (what the OS saw, heap and wasm memory included);
 * tensor bytes are TF.js's peak during the step (tf.profile); the wasm heap is the
 * backend's linear memory, which only grows.
 *
 * Run (bench/engine-models.ts does): tsx bench/engine-memory.ts --workload resnet20 --dir WEIGHTS_DIR --batch 32
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { initEngine } from '../src/engine/backend.js';
import { loadWorkloadModel, MODEL_WORKLOADS, type ModelWorkloadId } from './engine-models.js';
import { createModelWorkload } from './model-steps.js';
import { option, positiveFlag, reportErrorsPlainly } from './support.js';

reportErrorsPlainly();
const id = option('workload') as ModelWorkloadId;
if (!MODEL_WORKLOADS.includes(id)) throw new Error(`--workload must be one of ${MODEL_WORKLOADS.join(', ')}`);
await initEngine({ backend: 'wasm' });
const loaded = loadWorkloadModel(id, option('dir') ?? '');
const w = createModelWorkload(loaded.model, [32, 32, 3], 10, positiveFlag('batch', 32));
const info = await tf.profile(() => w.pgdAtStep());
const heap = ((tf.backend() as BackendWasm).wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.byteLength;
console.log(JSON.stringify({ peakRssBytes: process.resourceUsage().maxRSS * 1024, tensorPeakBytes: info.peakBytes, wasmHeapBytes: heap }));
w.dispose();
loaded.dispose();
