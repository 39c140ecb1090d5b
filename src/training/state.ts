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

async function encode(tensors: { name: string; tensor: tf.Tensor }[]): Promise<{ data: Uint8Array; specs: tf.io.WeightsManifestEntry[] }> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return { data: new Uint8Array(data), specs };
}

export async function saveTrainerState<Summary>(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer, progress: TrainerProgress<Summary>): Promise<void> {
  const modelWeights = await encode(model.getWeights().map((tensor, i) => ({ name: `w${i}`, tensor })));
  const slots = await optimizer.getWeights();
  const optimizerWeights = await encode(slots);
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
export async function loadTrainerState<Summary>(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer, configHash: string): Promise<TrainerProgress<Summary> | undefined> {
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
    throw new DataError('E_RESUME_MISMATCH', `The checkpoints in ${dir} come from a run with a different configuration; use another output directory, or delete ${dir} to start over.`, {
      details: { stored: state.configHash, current: configHash },
    });
  }
  const toBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  const weights = tf.io.decodeWeights(toBuffer(modelBytes), state.modelSpecs);
  const current = model.getWeights();
  const restored = current.map((w, i) => {
    const saved = weights[`w${i}`];
    if (!saved || saved.shape.join() !== w.shape.join()) {
      Object.values(weights).forEach((t) => t.dispose());
      throw new DataError('E_RESUME_MISMATCH', `Saved weight ${i} in ${dir} does not fit the model; it was trained with another architecture.`);
    }
    return saved;
  });
  model.setWeights(restored);
  Object.values(weights).forEach((t) => t.dispose());
  const slots = tf.io.decodeWeights(toBuffer(optimizerBytes), state.optimizerSpecs);
  await optimizer.setWeights(state.optimizerSpecs.map((s) => ({ name: s.name, tensor: slots[s.name] as tf.Tensor })));
  Object.values(slots).forEach((t) => t.dispose());
  const { modelSpecs: _m, optimizerSpecs: _o, ...progress } = state;
  return progress;
}
