/**
 * The `weights.bin` half of the TF.js LayersModel format: how many bytes a weight
 * manifest promises, and reading the files it names with that promise checked, so a
 * truncated or padded file fails loudly instead of decoding into wrong weights.
 */
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { DataError } from '../../core/errors.js';

/** Bytes per stored element; quantized weights are stored in their quantized dtype. */
const BYTES_PER_VALUE: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };
/** TF.js stores each string element as a little-endian uint32 byte length, then the bytes. */
const STRING_LENGTH_BYTES = 4;

/** Byte count the specs require; `exact` is false when a string length prefix lies past the data. */
export interface WeightByteCount {
  expected: number;
  exact: boolean;
}

/**
 * Counts the bytes that `specs` occupy. Fixed-size dtypes are counted from shapes alone;
 * string weights need their length prefixes, which are read from `data` the same way
 * `tf.io.decodeWeights` reads them.
 *
 * @example
 * weightByteCount([{ name: 'w', shape: [2, 3], dtype: 'float32' }], bytes); // { expected: 24, exact: true }
 */
export function weightByteCount(specs: readonly tf.io.WeightsManifestEntry[], data: Uint8Array): WeightByteCount {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const size = tf.util.sizeFromShape(spec.shape);
    if (spec.dtype === 'string' && spec.quantization === undefined) {
      for (let i = 0; i < size; i++) {
        if (offset + STRING_LENGTH_BYTES > data.byteLength) return { expected: offset + STRING_LENGTH_BYTES, exact: false };
        offset += STRING_LENGTH_BYTES + view.getUint32(offset, true);
      }
    } else {
      offset += size * (BYTES_PER_VALUE[spec.quantization?.dtype ?? spec.dtype] ?? Number.NaN);
    }
  }
  return { expected: offset, exact: true };
}

/**
 * Reads every weights file a manifest lists (relative to `dir`) and checks each group's
 * byte count against its specs. Returns the specs in manifest order and one buffer.
 *
 * @throws DataError `E_MODEL_CORRUPT` when a listed file is missing, lies outside `dir`,
 *   or holds a different number of bytes than the manifest describes.
 * @example
 * const [specs, data] = await readWeights('runs/cnn/model', modelJson.weightsManifest);
 */
export async function readWeights(
  dir: string,
  manifest: tf.io.WeightsManifestConfig,
): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const group of manifest) {
    // tfjs-node omits `weights` for a weightless model although the type says it is always there.
    const groupSpecs = group.weights ?? [];
    const files = group.paths.map((p) => weightsPath(dir, p));
    const buffers = await Promise.all(files.map((file) => readWeightsFile(file)));
    const data = buffers.length === 1 && buffers[0] !== undefined ? buffers[0] : Buffer.concat(buffers);
    const { expected, exact } = weightByteCount(groupSpecs, data);
    if (!exact || expected !== data.byteLength) {
      const want = exact ? `${expected}` : `at least ${expected}`;
      throw new DataError(
        'E_MODEL_CORRUPT',
        `Cannot load model: ${files.join(', ')} holds ${data.byteLength} bytes but model.json describes ${want} bytes of weights; ` +
          'the model was not saved completely or its files come from different saves.',
        { details: { paths: files, expectedBytes: expected, actualBytes: data.byteLength } },
      );
    }
    specs.push(...groupSpecs);
    chunks.push(data);
  }
  const only = chunks.length === 1 ? chunks[0] : undefined;
  const all = only ?? Buffer.concat(chunks);
  // Hand TF.js a buffer that starts and ends exactly at the weights; Node may pool reads.
  const whole = all.byteOffset === 0 && all.byteLength === all.buffer.byteLength;
  return [specs, whole ? (all.buffer as ArrayBuffer) : (all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer)];
}

/** Resolves a manifest path, refusing ones that escape `dir` (a hostile model.json could name `../../etc/shadow`). */
function weightsPath(dir: string, manifestPath: string): string {
  const rel = normalize(manifestPath);
  if (isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`)) {
    throw new DataError(
      'E_MODEL_CORRUPT',
      `Cannot load model: model.json in ${dir} names weights file '${manifestPath}' outside its directory.`,
      {
        details: { path: dir, weightsPath: manifestPath },
      },
    );
  }
  return join(dir, rel);
}

async function readWeightsFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? String(error)})`;
    throw new DataError('E_MODEL_CORRUPT', `Cannot load model: weights file ${file} listed in model.json ${why}.`, {
      cause: error,
      details: { path: file, errno: code },
    });
  }
}
