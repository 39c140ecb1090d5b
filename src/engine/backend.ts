/**
 * Backend selection. TF.js runs on the wasm backend by default here; when the optional
 * `@tensorflow/tfjs-node` accelerator is installed it is used instead (it cannot install
 * offline, so it is never a dependency). `RAMPART_BACKEND` overrides both.
 */
import * as tf from '@tensorflow/tfjs';
import { EngineError, UsageError, listChoices } from '../core/errors.js';

export const BACKEND_NAMES = ['wasm', 'cpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface EngineInfo {
  /** The TF.js backend in use. */
  backend: BackendName;
  tfjsVersion: string;
  /** How the backend was chosen: an explicit option, the environment, or auto-detection. */
  chosenBy: 'option' | 'env' | 'auto';
  /** Kernels Rampart registered over the backend's stock ones. */
  kernelOverrides: string[];
}

let current: EngineInfo | undefined;
let pending: Promise<EngineInfo> | undefined;

/** The engine chosen by the last `initEngine`, or undefined before it ran. */
export function engineInfo(): EngineInfo | undefined {
  return current;
}

function parseBackend(value: string, source: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new UsageError('E_UNKNOWN_BACKEND', `Unknown backend '${value}' from ${source}; use ${listChoices(BACKEND_NAMES)}.`, {
    details: { value, valid: BACKEND_NAMES },
  });
}

async function tryLoadTfjsNode(): Promise<boolean> {
  // A variable specifier keeps bundlers and the type-checker from requiring the package.
  const specifier = '@tensorflow/tfjs-node';
  try {
    await import(specifier);
    return true;
  } catch {
    return false;
  }
}

async function activate(backend: BackendName): Promise<string[]> {
  if (backend === 'tensorflow') {
    if (!(await tryLoadTfjsNode())) {
      throw new EngineError(
        'E_BACKEND_UNAVAILABLE',
        "Backend 'tensorflow' needs the optional package @tensorflow/tfjs-node, which is not installed; use RAMPART_BACKEND=wasm.",
      );
    }
  }
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  const ok = await tf.setBackend(backend);
  if (!ok) throw new EngineError('E_BACKEND_UNAVAILABLE', `TF.js could not start backend '${backend}'.`);
  await tf.ready();
  if (backend !== 'wasm') return [];
  // Loaded only for wasm: the kernels reach into the wasm backend's internals.
  const kernels = await import('./kernels/index.js');
  kernels.registerWasmGradientKernels();
  const { installGradientUnfusing } = await import('./unfused-gradients.js');
  installGradientUnfusing();
  const { installBatchNormTraining } = await import('./batch-norm-training.js');
  installBatchNormTraining();
  const { installBatchNormGradient } = await import('./batch-norm-gradient.js');
  installBatchNormGradient();
  return kernels.activeWasmGradientKernels();
}

/**
 * Starts TF.js on the chosen backend once per process; later calls return the same info
 * unless a different backend is asked for explicitly.
 *
 * @throws UsageError `E_UNKNOWN_BACKEND` for a backend name that does not exist.
 * @throws EngineError `E_BACKEND_UNAVAILABLE` when the backend cannot start.
 * @example
 * const info = await initEngine();            // wasm, or tfjs-node when installed
 * const cpu = await initEngine({ backend: 'cpu' });
 */
export async function initEngine(options: { backend?: string } = {}): Promise<EngineInfo> {
  const env = process.env.RAMPART_BACKEND;
  const requested = options.backend ?? (env && env.length > 0 ? env : undefined);
  if (current && (requested === undefined || requested === current.backend)) return current;
  if (pending && requested === undefined) return pending;
  const run = async (): Promise<EngineInfo> => {
    let backend: BackendName;
    let chosenBy: EngineInfo['chosenBy'];
    if (options.backend !== undefined) {
      backend = parseBackend(options.backend, 'the backend option');
      chosenBy = 'option';
    } else if (requested !== undefined) {
      backend = parseBackend(requested, 'RAMPART_BACKEND');
      chosenBy = 'env';
    } else {
      backend = (await tryLoadTfjsNode()) ? 'tensorflow' : 'wasm';
      chosenBy = 'auto';
    }
    const kernelOverrides = await activate(backend);
    current = { backend, tfjsVersion: tf.version.tfjs, chosenBy, kernelOverrides };
    return current;
  };
  pending = run();
  try {
    return await pending;
  } finally {
    pending = undefined;
  }
}
