/**
 * Resumable training state: model weights, optimizer slots (Adam moments, momentum) and
 * the trainer's own progress, written as one directory swap after every epoch. A killed
 * run therefore resumes from its last completed epoch, and a half-written state never
 * loads. Per-epoch seeds are derived from (seed, epoch), so nothing else is needed to
 * continue with the same shuffles and attack seeds.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DataError } from '../core/errors.js';
import { replaceDirAtomically } from '../models/io/atomic-dir.js';

export interface TrainerProgress<Summary> {
  version: 1;
  /** Hash of everything that decides the run's numbers; a resume must match it. */
  configHash: string;
  epochsDone: number;
  summaries: Summary[];
  /** Epoch (1-based) and robust accuracy of the best-robust weights so far. */
  best?: { epoch: number; robustAccuracy: number };
  /** Set when training stopped early (catastrophic overfitting), so a rerun does not retrain. */
  stopped?: { epoch: number; reason: string };
}

interface StateFile<Summary> extends TrainerProgress<Summary> {
  modelSpecs: tf.io.WeightsManifestEntry[];
  optimizerSpecs: tf.io.WeightsManifestEntry[];
}

/**
 * Adam's bias-correction powers (beta^t). TF.js's `setWeights` rebuilds them as
 * `pow(beta, t + 1)`, which differs in the last bits from the running product an
 * uninterrupted run holds (on wasm, at most step counts), so a resumed run drifted; they
 * are saved and restored as they are. Absent from states written before, which still load.
 */
const EXACT_SCALARS = ['accBeta1', 'accBeta2'] as const;
const EXACT_PREFIX = 'rampart/';

function exactScalars(optimizer: tf.Optimizer): { name: string; variable: tf.Variable }[] {
  const fields = optimizer as unknown as Record<string, unknown>;
  return EXACT_SCALARS.flatMap((key) => {
    const value = fields[key];
    return value instanceof tf.Variable ? [{ name: `${EXACT_PREFIX}${key}`, variable: value }] : [];
  });
}

async function encode(tensors: { name: string; tensor: tf.Tensor }[]): Promise<{ data: Uint8Array; specs: tf.io.WeightsManifestEntry[] }> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return { data: new Uint8Array(data), specs };
}

export async function saveTrainerState<Summary>(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  progress: TrainerProgress<Summary>,
): Promise<void> {
  const modelWeights = await encode(model.getWeights().map((tensor, i) => ({ name: `w${i}`, tensor })));
  const slots = await optimizer.getWeights();
  const exact = exactScalars(optimizer).map(({ name, variable }) => ({ name, tensor: variable as tf.Tensor }));
  const optimizerWeights = await encode([...slots, ...exact]);
  // getWeights() returns the live slot variables plus a fresh 'iter' scalar, which is ours to free.
  slots.filter((s) => s.name === 'iter').forEach((s) => s.tensor.dispose());
  const state: StateFile<Summary> = { ...progress, modelSpecs: modelWeights.specs, optimizerSpecs: optimizerWeights.specs };
  await replaceDirAtomically(
    dir,
    new Map([
      ['state.json', new TextEncoder().encode(JSON.stringify(state))],
      ['model-weights.bin', modelWeights.data],
      ['optimizer.bin', optimizerWeights.data],
    ]),
  );
}

/**
 * Restores weights and optimizer slots from `dir`; returns undefined when there is no state.
 *
 * @throws DataError `E_RESUME_MISMATCH` when the state belongs to a different configuration
 *   or architecture; `E_STATE_CORRUPT` when its files are unreadable.
 */
export async function loadTrainerState<Summary>(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  configHash: string,
): Promise<TrainerProgress<Summary> | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'state.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DataError('E_STATE_CORRUPT', `Cannot read training state in ${dir}.`, { cause: error });
  }
  let state: StateFile<Summary>;
  let modelBytes: Buffer;
  let optimizerBytes: Buffer;
  try {
    state = JSON.parse(text) as StateFile<Summary>;
    modelBytes = await readFile(join(dir, 'model-weights.bin'));
    optimizerBytes = await readFile(join(dir, 'optimizer.bin'));
  } catch (error) {
    throw new DataError('E_STATE_CORRUPT', `Training state in ${dir} is unreadable; delete the folder to start over.`, { cause: error });
  }
  if (state.configHash !== configHash) {
    throw new DataError(
      'E_RESUME_MISMATCH',
      `The checkpoints in ${dir} come from a run with a different configuration; use another output directory, or delete ${dir} to start over.`,
      {
        details: { stored: state.configHash, current: configHash },
      },
    );
  }
  const toBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  const weights = tf.io.decodeWeights(toBuffer(modelBytes), state.modelSpecs);
  const current = model.getWeights();
  const restored = current.map((w, i) => {
    const saved = weights[`w${i}`];
    if (!saved || saved.shape.join() !== w.shape.join()) {
      Object.values(weights).forEach((t) => t.dispose());
      throw new DataError(
        'E_RESUME_MISMATCH',
        `Saved weight ${i} in ${dir} does not fit the model; it was trained with another architecture.`,
      );
    }
    return saved;
  });
  model.setWeights(restored);
  Object.values(weights).forEach((t) => t.dispose());
  const slots = tf.io.decodeWeights(toBuffer(optimizerBytes), state.optimizerSpecs);
  const own = state.optimizerSpecs.filter((s) => !s.name.startsWith(EXACT_PREFIX));
  await optimizer.setWeights(own.map((s) => ({ name: s.name, tensor: slots[s.name] as tf.Tensor })));
  for (const { name, variable } of exactScalars(optimizer)) {
    const saved = slots[name];
    if (saved) variable.assign(saved);
  }
  Object.values(slots).forEach((t) => t.dispose());
  const { modelSpecs: _m, optimizerSpecs: _o, ...progress } = state;
  return progress;
}
