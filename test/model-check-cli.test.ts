/** End-to-end: `rampart model check` on the committed ONNX fixtures, in a child process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel } from './onnx-builder.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function rampart(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RAMPART_BACKEND: '' },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

test('model check prints the signature and ops and passes the cross-check; --json has the same facts', () => {
  const r = rampart('model', 'check', 'fixtures/onnx/mnist-cnn.onnx');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /inputs {5}input float32\[batch, 1, 28, 28\]/);
  assert.match(r.stdout, /ops {8}.*Conv 2/);
  assert.match(r.stdout, /cross-check importer vs onnxruntime on 8 random inputs: max abs diff .* \(ok/);
  const j = rampart('model', 'check', 'fixtures/onnx/tabular-mlp.onnx', '--json', '--samples', '4');
  assert.equal(j.code, 0, j.stderr);
  const report = JSON.parse(j.stdout) as {
    opset: number;
    ops: Record<string, number>;
    importer: { ok: boolean; numClasses: number };
    crossCheck: { ok: boolean; samples: number };
  };
  assert.equal(report.opset, 13);
  assert.equal(report.ops.Gemm, 4);
  assert.deepEqual([report.importer.ok, report.importer.numClasses, report.crossCheck.ok, report.crossCheck.samples], [true, 2, true, 4]);
});

test('model check names unsupported ops and the onnxruntime target (exit 1); a bad file is a coded error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-model-check-'));
  const path = join(dir, 'hardmax.onnx');
  writeFileSync(path, buildModel({ input: [-1, 3], nodes: [{ op: 'Hardmax', inputs: ['x'], outputs: ['y'] }] }));
  const r = rampart('model', 'check', path);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /E_ONNX_UNSUPPORTED_OP/);
  assert.match(r.stdout, /unsupported ops: Hardmax/);
  assert.match(r.stdout, /onnxruntime:/);
  const bad = join(dir, 'bad.onnx');
  writeFileSync(bad, 'not a model');
  const b = rampart('model', 'check', bad);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /E_ONNX_MALFORMED/);
});
