/**
 * How close each side of `bench:engine` runs to what this CPU can do, and whether parity
 * with PyTorch is within reach of wasm SIMD at all.
 *
 * 1. The multiply-adds of one example through each CIFAR-shaped net, counted from its layers
 *    (convolutions, depthwise convolutions, dense); a PGD step costs about twice the forward
 *    pass (forward + input gradient), a PGD-AT step ten PGD steps plus one training step
 *    (forward + input and filter gradients, about three forward passes).
 * 2. The peak rate of wasm SIMD128 on one thread here: twelve independent `acc += x * w`
 *    chains of f32x4 multiplies and adds (the inner loop of a convolution, with nothing to
 *    load), and the same with `f32x4.relaxed_madd` when the runtime accepts relaxed SIMD.
 * 3. PyTorch's own best one-thread rate on a ResNet-20-sized 3x3 convolution (oneDNN's AVX2
 *    FMA kernels), when Debian's python3-torch is installed.
 * 4. The rates of the last `bench:engine` run (bench/results/engine.json), read as
 *    arithmetic throughput: GFLOP/s and that rate as a share of one core's SIMD128 peak.
 *
 * Any wasm kernel is bound by (2); when PyTorch's measured one-thread rate on a net already
 * needs more than one core's SIMD128 peak, no kernel we could write reaches parity on it.
 *
 * Run: npx tsx bench/engine-ceiling.ts [--seconds 1] [--results bench/results/engine.json]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

import * as tf from '@tensorflow/tfjs';
import createWabt from 'wabt';

import { buildCnnZooModel, CNN_ZOO } from '../src/models/cnn-zoo.js';
import { option, positiveFlag } from './support.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SECONDS = positiveFlag('seconds', 1);
const RESULTS = option('results') ?? path.join(HERE, 'results/engine.json');
const CHAINS = 12;
/** The slice of the WebAssembly API used here (the project's type libraries do not declare it). */
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      validate(b: Uint8Array): boolean;
      instantiate(b: Uint8Array): Promise<{ instance: { exports: Record<string, unknown> } }>;
    };
  }
).WebAssembly;

/** Multiply-adds of one example's forward pass through `model`'s conv and dense layers. */
export function forwardMacs(model: tf.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const out = layer.outputShape as number[];
    const input = layer.inputSpec === null ? undefined : (layer.input as tf.SymbolicTensor).shape;
    const inChannels = input === undefined ? 0 : (input[input.length - 1] ?? 0);
    const config = layer.getConfig() as { kernelSize?: number[]; depthMultiplier?: number };
    const [kh, kw] = config.kernelSize ?? [1, 1];
    if (cls === 'Conv2D') macs += out[1]! * out[2]! * out[3]! * kh! * kw! * inChannels;
    else if (cls === 'DepthwiseConv2D') macs += out[1]! * out[2]! * out[3]! * kh! * kw!;
    else if (cls === 'Dense') macs += out[1]! * inChannels;
  }
  return macs;
}

function peakModuleText(relaxed: boolean): string {
  const locals = Array.from({ length: CHAINS }, (_, i) => `(local $a${i} v128) (local $x${i} v128)`).join(' ');
  const init = Array.from({ length: CHAINS }, (_, i) => `(local.set $x${i} (f32x4.splat (f32.const 1e-7)))`).join('\n');
  const step = Array.from({ length: CHAINS }, (_, i) =>
    relaxed
      ? `(local.set $a${i} (f32x4.relaxed_madd (local.get $x${i}) (local.get $w) (local.get $a${i})))`
      : `(local.set $a${i} (f32x4.add (local.get $a${i}) (f32x4.mul (local.get $x${i}) (local.get $w))))`,
  ).join('\n');
  const sum = Array.from({ length: CHAINS }, (_, i) => `(local.get $a${i})`).reduce((acc, a) => `(f32x4.add ${acc} ${a})`);
  return `(module (func (export "run") (param $n i32) (result f32) (local $w v128) ${locals}
    (local.set $w (f32x4.splat (f32.const 0.5)))
    ${init}
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      ${step}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (f32x4.extract_lane 0 ${sum})))`;
}

async function peakGflops(relaxed: boolean): Promise<number | undefined> {
  const wabt = await createWabt();
  const parsed = wabt.parseWat('peak.wat', peakModuleText(relaxed), { simd: true, relaxed_simd: relaxed });
  const bytes = parsed.toBinary({}).buffer;
  parsed.destroy();
  if (!wasm.validate(bytes)) return undefined;
  const { instance } = await wasm.instantiate(bytes);
  const run = instance.exports['run'] as (n: number) => number;
  const flopsPerIteration = CHAINS * 4 * 2;
  let iterations = 1e6;
  let best = 0;
  const deadline = performance.now() + SECONDS * 1000;
  while (performance.now() < deadline) {
    const t0 = performance.now();
    run(iterations);
    const ms = performance.now() - t0;
    best = Math.max(best, (iterations * flopsPerIteration) / (ms * 1e6));
    if (ms < 50) iterations *= 2;
  }
  return best;
}

const TORCH_CONV = `
import time, torch
torch.set_num_threads(1)
x, w = torch.randn(32, 32, 32, 32), torch.randn(32, 32, 3, 3)
flops, best, end = 2 * 32 * 32 * 32 * 32 * 32 * 9, 0.0, time.perf_counter() + SECONDS
while time.perf_counter() < end:
    t = time.perf_counter(); torch.nn.functional.conv2d(x, w, padding=1); best = max(best, flops / (time.perf_counter() - t) / 1e9)
print(best)`;

/** PyTorch's best one-thread GFLOP/s on a 32-channel 3x3 convolution at 32x32, batch 32. */
function torchConvGflops(): number | undefined {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1' };
  delete env['OPENBLAS_CORETYPE'];
  delete env['OPENBLAS_L2_SIZE'];
  const r = spawnSync(python, ['-c', TORCH_CONV.replace('SECONDS', String(SECONDS))], { encoding: 'utf8', env, timeout: 60_000 });
  const value = Number(r.stdout.trim());
  return r.status === 0 && Number.isFinite(value) ? value : undefined;
}

interface Rates {
  pgd: number;
  at: number;
}
interface EngineRow {
  id: string;
  rampart1t: Rates;
  rampartPool: Rates;
  rampartWorkers: number;
  torchAll?: Rates & { threads: number };
  torch1t?: Rates;
  loadAverage?: number[];
}

// The same flag the engine sets for its relaxed-SIMD kernels (Node 20; on by default later).
setFlagsFromString('--experimental-wasm-relaxed-simd');
await tf.setBackend('cpu');
console.log(
  `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores; load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const plain = await peakGflops(false);
const relaxed = await peakGflops(true);
console.log(`wasm SIMD128 peak, one thread (mul + add): ${plain!.toFixed(1)} GFLOP/s`);
console.log(
  relaxed === undefined
    ? 'wasm relaxed SIMD (relaxed_madd): not accepted by this runtime'
    : `wasm relaxed SIMD peak, one thread (relaxed_madd): ${relaxed.toFixed(1)} GFLOP/s`,
);
const peak = Math.max(plain!, relaxed ?? 0);
const torchConv = torchConvGflops();
console.log(
  torchConv === undefined
    ? 'PyTorch: not found (python3-torch), no native convolution rate'
    : `PyTorch one thread, 3x3 convolution 32->32 channels at 32x32: ${torchConv.toFixed(1)} GFLOP/s (${(torchConv / peak).toFixed(2)}x the SIMD128 peak)`,
);

const macs = new Map<string, number>();
for (const id of CNN_ZOO) {
  const model = buildCnnZooModel(id, { inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  macs.set(id, forwardMacs(model));
  model.dispose();
}
for (const [id, m] of macs) console.log(`${id}: ${(m / 1e6).toFixed(1)} M multiply-adds per example, forward`);

if (!existsSync(RESULTS)) {
  console.log(`No ${path.relative(process.cwd(), RESULTS)}: run \`npm run bench:engine\` first for the rate comparison.`);
} else {
  const rows = (JSON.parse(readFileSync(RESULTS, 'utf8')) as { models?: EngineRow[] }).models ?? [];
  console.log(
    `\nRates of ${path.relative(process.cwd(), RESULTS)} as arithmetic: GFLOP/s (share of one core's SIMD128 peak ${peak.toFixed(1)})`,
  );
  for (const row of rows) {
    const m = macs.get(row.id);
    if (m === undefined) continue;
    const flops = { pgd: 2 * 2 * m, at: 2 * (10 * 2 * m + 3 * m) };
    const show = (label: string, r: Rates | undefined, cores: number) => {
      if (r === undefined) return;
      const g = (k: keyof Rates) => (r[k] * flops[k]) / 1e9;
      const share = (k: keyof Rates) => `${((100 * g(k)) / (peak * cores)).toFixed(0)}% of ${cores} core${cores > 1 ? 's' : ''}`;
      console.log(
        `  ${row.id} ${label.padEnd(18)} PGD ${g('pgd').toFixed(1).padStart(6)} (${share('pgd')})   PGD-AT ${g('at').toFixed(1).padStart(6)} (${share('at')})`,
      );
    };
    show('Rampart 1 thread', row.rampart1t, 1);
    show(`Rampart ${row.rampartWorkers} workers`, row.rampartPool, row.rampartWorkers);
    show('PyTorch 1 thread', row.torch1t, 1);
    show(`PyTorch ${row.torchAll?.threads ?? '?'} threads`, row.torchAll, row.torchAll?.threads ?? 1);
  }
}
