/** `rampart model check PATH`: what an ONNX file holds and whether the importer matches onnxruntime on it. */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { initEngine } from '../../engine/backend.js';
import { checkOnnxFile, type ModelCheckReport, type TensorSignature } from '../../models/onnxruntime/check.js';
import { say } from '../output.js';
import { positiveNumber, wholeNumber } from '../parse.js';

function sig(t: TensorSignature): string {
  return `${t.name} ${t.dtype}[${t.shape.join(', ')}]`;
}

function print(r: ModelCheckReport): void {
  say(`${r.path}  sha256 ${r.digest}  ${r.bytes} bytes`);
  say(`producer   ${r.producer || '(none)'}; ir ${r.irVersion}; opset ${r.opset}`);
  say(`inputs     ${r.inputs.map(sig).join('; ')}`);
  say(`outputs    ${r.outputs.map(sig).join('; ')}`);
  say(`parameters ${r.parameters}`);
  const ops = Object.entries(r.ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  say(`ops        ${ops.map(([op, n]) => `${op} ${n}`).join(', ')}`);
  const input = r.inputs[0]?.shape;
  // A [batch, c, h, w] input with few channels is an NCHW image model; Rampart's data is NHWC.
  if (input?.length === 4 && typeof input[1] === 'number' && input[1] <= 4 && input[3] !== input[1]) {
    say(`layout     the input looks channels-first (NCHW): declare preprocess { layout: 'nchw' } to feed it NHWC data in [0,1]`);
  }
  if (r.importer.ok) {
    say(
      `importer   ok: white box 'onnx:${r.path}', ${r.importer.numClasses} classes${r.importer.outputsProbabilities ? ' (ends in Softmax: logits are log-probabilities)' : ''}`,
    );
  } else {
    say(`importer   cannot import (${r.importer.code}): ${r.importer.message}`);
    if (r.unsupportedOps.length > 0) say(`           unsupported ops: ${r.unsupportedOps.join(', ')}`);
    say(`           the model can still be attacked as a score target: 'onnxruntime:${r.path}'`);
  }
  if (r.crossCheck) {
    const c = r.crossCheck;
    say(
      `cross-check importer vs onnxruntime on ${c.samples} random inputs: max abs diff ${c.maxAbsDiff.toExponential(2)} (${c.ok ? 'ok' : 'FAIL'}, tolerance ${c.tolerance})`,
    );
  }
}

export function registerModel(program: Command): void {
  const model = program.command('model').description('Inspect external models.');
  model
    .command('check')
    .description(
      'Load an ONNX file, print its inputs, outputs, opset, ops and parameters, and cross-check the importer against onnxruntime.',
    )
    .argument('<path>', 'the .onnx file')
    .option('--samples <n>', 'random inputs for the cross-check', wholeNumber('--samples', 1), 8)
    .option('--seed <n>', 'seed of the random inputs', wholeNumber('--seed'), 0)
    .option('--tolerance <x>', 'largest accepted max abs difference', positiveNumber('--tolerance'), 1e-4)
    .option('--backend <name>', 'TF.js backend: wasm, cpu or tensorflow')
    .option('--json', 'print the report as JSON')
    .action(async (path: string, flags: { samples: number; seed: number; tolerance: number; backend?: string; json?: boolean }) => {
      await initEngine(flags.backend ? { backend: flags.backend } : {});
      if (flags.samples > 1024) throw new UsageError('E_FLAG_VALUE', `--samples is at most 1024; got ${flags.samples}.`);
      const report = await checkOnnxFile(path, { samples: flags.samples, seed: flags.seed, tolerance: flags.tolerance });
      if (flags.json) say(JSON.stringify(report, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v), 2));
      else print(report);
      // Not importable, or importable but not matching: the check failed.
      if (!report.importer.ok || report.crossCheck?.ok === false) process.exitCode = 1;
    });
  for (const c of model.commands) c.exitOverride();
  model.exitOverride();
}
