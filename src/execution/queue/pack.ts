/**
 * Plain data with typed arrays, as bytes: a JSON skeleton in which each typed array is a
 * reference `{ $ta, i }`, and the arrays' raw bytes. Raw bytes (not JSON numbers) keep
 * float32 values bit for bit, which is what makes queued results identical to local ones.
 * Byte order is the host's (little-endian on every platform Node supports).
 *
 * Blob layout: "RQB1", u32 header length, header JSON `{ skeleton?, arrays: [{ t, n }] }`,
 * then each array's bytes at an 8-byte-aligned offset.
 */
import { DataError } from '../../core/errors.js';

const ARRAY_TYPES = {
  Float32Array,
  Float64Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
} as const;
type ArrayTypeName = keyof typeof ARRAY_TYPES;
type AnyTypedArray = InstanceType<(typeof ARRAY_TYPES)[ArrayTypeName]>;

const MAGIC = 0x31425152; // "RQB1" little-endian
const MAX_DEPTH = 32;

interface BlobHeader {
  skeleton?: unknown;
  arrays: Array<{ t: ArrayTypeName; n: number }>;
}

function typeName(value: unknown): ArrayTypeName | undefined {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return undefined;
  const name = value.constructor.name as ArrayTypeName;
  return name in ARRAY_TYPES ? name : undefined;
}

/**
 * Splits `value` into a JSON-able skeleton and its typed arrays, in walk order.
 *
 * @throws DataError `E_QUEUE_PAYLOAD` for values JSON cannot carry (functions, bigints, cycles, depth > 32).
 */
export function splitArrays(value: unknown): { skeleton: unknown; arrays: AnyTypedArray[] } {
  const arrays: AnyTypedArray[] = [];
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw payloadError('nests deeper than 32 levels');
    const t = typeName(v);
    if (t) {
      arrays.push(v as AnyTypedArray);
      return { $ta: t, i: arrays.length - 1 };
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw payloadError(`holds the number ${v}, which JSON cannot carry`);
      return v;
    }
    if (v === undefined) return undefined;
    if (typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = walk(x, depth + 1);
      return out;
    }
    throw payloadError(`holds a ${typeof v}`);
  };
  return { skeleton: walk(value, 0), arrays };
}

/**
 * Rebuilds a value from its skeleton and arrays (the inverse of `splitArrays`).
 *
 * @throws DataError `E_QUEUE_PAYLOAD` for a reference to a missing array or of the wrong type.
 */
export function joinArrays(skeleton: unknown, arrays: readonly AnyTypedArray[]): unknown {
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw payloadError('nests deeper than 32 levels');
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (v === null || typeof v !== 'object') return v;
    const ref = v as { $ta?: unknown; i?: unknown };
    if (typeof ref.$ta === 'string' && typeof ref.i === 'number') {
      const a = arrays[ref.i];
      if (!a || a.constructor.name !== ref.$ta) throw payloadError(`refers to array ${ref.i} (${ref.$ta}), which the blob does not hold`);
      return a;
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, depth + 1);
    return out;
  };
  return walk(skeleton, 0);
}

/** Packs typed arrays (and optionally a skeleton) into one blob. */
export function packBlob(arrays: readonly AnyTypedArray[], skeleton?: unknown): Buffer {
  const header: BlobHeader = {
    ...(skeleton === undefined ? {} : { skeleton }),
    arrays: arrays.map((a) => ({ t: typeName(a) as ArrayTypeName, n: a.length })),
  };
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const align = (n: number): number => Math.ceil(n / 8) * 8;
  let size = align(8 + head.length);
  for (const a of arrays) size = align(size + a.byteLength);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(head.length, 4);
  head.copy(out, 8);
  let offset = align(8 + head.length);
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset = align(offset + a.byteLength);
  }
  return out;
}

/**
 * Reads a blob made by `packBlob`; arrays are fresh copies that own their buffers.
 *
 * @throws DataError `E_QUEUE_PAYLOAD` for bytes that are not such a blob.
 */
export function unpackBlob(bytes: Uint8Array): { skeleton?: unknown; arrays: AnyTypedArray[] } {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length < 8 || view.readUInt32LE(0) !== MAGIC) throw payloadError('is not a Rampart queue blob (bad magic)');
  const headLength = view.readUInt32LE(4);
  if (8 + headLength > view.length) throw payloadError('is truncated (header)');
  let header: BlobHeader;
  try {
    header = JSON.parse(view.subarray(8, 8 + headLength).toString('utf8')) as BlobHeader;
  } catch (cause) {
    throw payloadError('has a header that is not JSON', cause);
  }
  if (!Array.isArray(header.arrays)) throw payloadError('has no array table');
  const align = (n: number): number => Math.ceil(n / 8) * 8;
  let offset = align(8 + headLength);
  const arrays = header.arrays.map(({ t, n }) => {
    const Type = ARRAY_TYPES[t];
    if (!Type || !Number.isInteger(n) || n < 0) throw payloadError(`lists an array of type '${String(t)}' and length ${String(n)}`);
    const byteLength = n * Type.BYTES_PER_ELEMENT;
    if (offset + byteLength > view.length) throw payloadError('is truncated (arrays)');
    const copy = new Uint8Array(byteLength);
    copy.set(view.subarray(offset, offset + byteLength));
    offset = align(offset + byteLength);
    return new Type(copy.buffer) as AnyTypedArray;
  });
  return { ...(header.skeleton === undefined ? {} : { skeleton: header.skeleton }), arrays };
}

/** A whole value (skeleton included) as one self-contained blob. */
export function packValue(value: unknown): Buffer {
  const { skeleton, arrays } = splitArrays(value);
  return packBlob(arrays, skeleton);
}

/** @throws DataError `E_QUEUE_PAYLOAD` for a blob without a skeleton or with bad references. */
export function unpackValue(bytes: Uint8Array): unknown {
  const { skeleton, arrays } = unpackBlob(bytes);
  if (skeleton === undefined) throw payloadError('carries no value (data-only blob)');
  return joinArrays(skeleton, arrays);
}

function payloadError(problem: string, cause?: unknown): DataError {
  return new DataError('E_QUEUE_PAYLOAD', `A queue payload ${problem}; coordinator and worker must run the same Rampart version.`, {
    ...(cause === undefined ? {} : { cause }),
  });
}
