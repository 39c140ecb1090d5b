/** What every benchmark script shares: flags, medians and per-kernel times from tf.profile. */
import * as tf from '@tensorflow/tfjs';

/** The value after `--name`, if any. */
export function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A whole number > 0 from `--name N`; exits with 2 and a message for anything else. */
export function positiveFlag(name: string, fallback: number): number {
  const raw = option(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`--${name} must be a positive integer; got '${raw}'.`);
    process.exit(2);
  }
  return v;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface KernelTimes {
  byName: Map<string, { ms: number; calls: number }>;
  total: number;
}

/** Kernel time per kernel name for one run of `f`. */
export async function kernelTimes(f: () => void): Promise<KernelTimes> {
  const info = await tf.profile(f);
  const byName = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += 1;
    byName.set(k.name, e);
    total += ms;
  }
  return { byName, total };
}

/**
 * Reports a failing bench as its error code and message and exits 1. The TF.js wasm backend
 * rethrows unhandled rejections from inside its own one-line module, so Node's default report
 * would print that whole module as the "source line" instead of the error.
 */
export function reportErrorsPlainly(): void {
  process.on('uncaughtException', (error: unknown) => {
    const code = typeof error === 'object' && error !== null && 'code' in error ? `${String(error.code)}: ` : '';
    console.error(`${code}${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
