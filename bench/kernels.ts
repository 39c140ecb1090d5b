/**
 * Benchmark of the wasm gradient kernels (src/engine/kernels) against the stock TF.js
 * wasm kernels, in one process so the ratios share a machine state.
 *
 * Model: conv3x3-32 relu, maxpool2, conv3x3-64 relu, maxpool2, dense128 relu, dense10 on
 * 28x28x1 inputs, batch 128. Measured: examples/s of a forward pass, of an input-gradient
 * step (forward + backward to the input, what a PGD step costs) and of a training step
 * (forward + backward + Adam update). Stock and ours alternate call by call within each
 * round; a round keeps the fastest call of each, and the median over rounds is reported
 * (ratios are the median of per-round ratios). The stock
 * training step cannot run, because the stock wasm backend has no Conv2DBackpropFilter;
 * that is reported, not hidden.
 *
 * Run: npx tsx bench/kernels.ts [--rounds 4] [--iters 5]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { registerWasmGradientKernels, restoreStockWasmKernels } from '../src/engine/kernels/index.js';
import { kernelTimes, median, positiveFlag, reportErrorsPlainly } from './support.js';

reportErrorsPlainly();

const BATCH = 128;

const ROUNDS = positiveFlag('rounds', 4);
const ITERS = positiveFlag('iters', 5);

function buildModel(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ],
  });
}

/**
 * Fastest of `iters` calls of `f`, after `warmup` calls, in milliseconds. The minimum,
 * not the mean: on a shared machine it is the run least disturbed by other processes.
 */
function timeMs(f: () => void, warmup = 1, iters = ITERS): number {
  for (let i = 0; i < warmup; i++) f();
  let best = Infinity;
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

function perSecond(ms: number): number {
  return (BATCH * 1000) / ms;
}

async function topKernels(label: string, f: () => void): Promise<void> {
  const { byName, total } = await kernelTimes(f);
  const top = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 5);
  console.log(`\n  tf.profile, ${label}: ${total.toFixed(1)} ms in kernels; top 5`);
  for (const [name, { ms, calls }] of top) {
    console.log(`    ${name.padEnd(22)} ${ms.toFixed(1).padStart(7)} ms  (${calls} call${calls === 1 ? '' : 's'})`);
  }
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  console.log(`TF.js ${tf.version.tfjs}, backend ${tf.getBackend()}, SIMD ${simd}, threads ${threads}, Node ${process.version}`);
  console.log(
    `Model conv3x3-32, pool2, conv3x3-64, pool2, dense128, dense10; 28x28x1; batch ${BATCH}; ${ROUNDS} rounds x ${ITERS} iterations\n`,
  );

  const model = buildModel();
  const x = tf.randomUniform([BATCH, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32', 2), 10);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = tf.train.adam();
  const loss = (input: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, model.apply(input) as tf.Tensor) as tf.Scalar;
  const lossGrad = tf.grad(loss);

  const forward = () =>
    tf.tidy(() => {
      (model.apply(x) as tf.Tensor).dataSync();
    });
  const inputGradient = () =>
    tf.tidy(() => {
      lossGrad(x).dataSync();
    });
  const trainStep = () =>
    tf.tidy(() => {
      optimizer.minimize(() => loss(x), false, vars);
      vars[0]!.dataSync();
    });

  // The stock training step, once: it is expected to throw.
  restoreStockWasmKernels();
  let stockTrainError: string;
  try {
    trainStep();
    stockTrainError = 'it ran, so this TF.js has a stock Conv2DBackpropFilter; re-check the numbers';
  } catch (e) {
    stockTrainError = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  }

  // Stock and ours alternate call by call, so a burst of load from other processes hits
  // both; each round keeps the fastest call of each and its stock/ours ratio.
  const paired = (f: () => void): { stock: number; ours: number } => {
    restoreStockWasmKernels();
    f();
    registerWasmGradientKernels();
    f();
    let stock = Infinity;
    let ours = Infinity;
    for (let i = 0; i < ITERS; i++) {
      restoreStockWasmKernels();
      stock = Math.min(stock, timeMs(f, 0, 1));
      registerWasmGradientKernels();
      ours = Math.min(ours, timeMs(f, 0, 1));
    }
    return { stock, ours };
  };

  const rounds: { forward: { stock: number; ours: number }; input: { stock: number; ours: number }; train: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const forwardMs = paired(forward);
    const inputMs = paired(inputGradient);
    registerWasmGradientKernels();
    const train = timeMs(trainStep);
    rounds.push({ forward: forwardMs, input: inputMs, train });
    console.log(
      `  round ${round + 1}: input-gradient step stock ${inputMs.stock.toFixed(1)} ms, ours ${inputMs.ours.toFixed(1)} ms ` +
        `(${(inputMs.stock / inputMs.ours).toFixed(2)}x); training step ours ${train.toFixed(1)} ms`,
    );
  }

  const row = (what: string, stockMs: number | undefined, oursMs: number, ratio?: number) => {
    const stock = stockMs === undefined ? 'n/a'.padStart(9) : perSecond(stockMs).toFixed(0).padStart(9);
    const r = ratio === undefined ? '   n/a' : `${ratio.toFixed(2)}x`.padStart(6);
    console.log(`  ${what.padEnd(34)} ${stock} ${perSecond(oursMs).toFixed(0).padStart(9)}  ${r}`);
  };
  console.log(`\n  ${'examples/s (median over rounds)'.padEnd(34)} ${'stock'.padStart(9)} ${'ours'.padStart(9)}  ratio`);
  row(
    'forward pass',
    median(rounds.map((r) => r.forward.stock)),
    median(rounds.map((r) => r.forward.ours)),
    median(rounds.map((r) => r.forward.stock / r.forward.ours)),
  );
  row(
    'input-gradient step (PGD)',
    median(rounds.map((r) => r.input.stock)),
    median(rounds.map((r) => r.input.ours)),
    median(rounds.map((r) => r.input.stock / r.input.ours)),
  );
  row('training step (Adam)', undefined, median(rounds.map((r) => r.train)));
  console.log(`\n  stock training step: cannot run on stock wasm: ${stockTrainError}`);

  registerWasmGradientKernels();
  await topKernels('input-gradient step, our kernels', inputGradient);
  await topKernels('training step, our kernels', trainStep);
  restoreStockWasmKernels();
  await topKernels('input-gradient step, stock kernels', inputGradient);

  optimizer.dispose();
  model.dispose();
  tf.dispose([x, y]);
}

await main();
