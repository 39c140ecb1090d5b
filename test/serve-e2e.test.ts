/**
 * End-to-end: the real `rampart keys add` and `rampart serve` in child processes, as an
 * operator runs them. The server fits its OOD detector and builds its canary probes from
 * the model's own data split at startup, answers on an ephemeral port, and on SIGTERM
 * drains the requests in flight and exits 0.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { smallMnist, trainedMlp } from './fixtures.js';
import { startServe } from './serve-process.js';
import { saveClassifierModel } from '../src/models/store.js';
import { spamAssassinSplits } from '../src/data/text/spam-assassin.js';
import { sampleTexts } from '../src/data/text/text-dataset.js';
import { trainTextClassifier } from '../src/training/text/train.js';
import { saveDecisionThreshold, saveTextClassifier } from '../src/models/text/store.js';
import { OBFUSCATION_MARKER_PREFIX } from '../src/defenses/normalize-text/normalize.js';
import { saveVocabulary, trainingVocabulary, vocabularyDefence } from '../src/defenses/normalize-text/vocabulary-defence.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

function rampart(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RAMPART_BACKEND: '' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('rampart serve (child process)', () => {
  let dir: string;
  let child: ChildProcess | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-serve-e2e-'));
    await saveClassifierModel((await trainedMlp()).model, join(dir, 'model'), {
      architecture: 'mlp',
      inputShape: [28, 28, 1],
      numClasses: 10,
      bounds: { min: 0, max: 1 },
      data: {
        spec: 'mnist',
        name: 'mnist-bundled',
        sha256: 'fixture',
        split: { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 } },
      },
    });
    // `disclosure: full`: these tests read the decision trace; least disclosure is tested in test/security.
    await writeFile(
      join(dir, 'serve.yaml'),
      'disclosure: full\nlayers:\n  ood: { fitLimit: 300 }\ncanary:\n  count: 16\n  attackOptions: { steps: 5 }\nauth:\n  metricsPublic: true\n',
    );
    await writeFile(join(dir, 'full.yaml'), 'disclosure: full\n');
  });

  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  test('keys add, serve, predict with a key, refuse without one, drain on SIGTERM', async () => {
    const keysFile = join(dir, 'keys.json');
    const added = rampart('keys', 'add', '--file', keysFile, '--role', 'predict', '--name', 'e2e');
    assert.equal(added.code, 0, added.stderr);
    const key = added.stdout.trim();
    assert.match(key, /^rk_[a-z0-9]+_[A-Za-z0-9_-]{43}$/);
    assert.match(added.stderr, /shown only now/);
    const badRole = rampart('keys', 'add', '--file', keysFile, '--role', 'root');
    assert.equal(badRole.code, 2);
    assert.match(badRole.stderr, /E_UNKNOWN_ROLE/);

    const { proc, url, out, exited } = await startServe([
      '--model',
      join(dir, 'model'),
      '--keys',
      keysFile,
      '--config',
      join(dir, 'serve.yaml'),
      '--log-level',
      'warn',
    ]);
    child = proc;

    const { test: testSet } = smallMnist();
    const body = JSON.stringify({ inputs: [Array.from(testSet.x.subarray(0, 784))] });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
    const ok = await fetch(`${url}/v1/predict`, { method: 'POST', headers, body });
    assert.equal(ok.status, 200);
    const json = (await ok.json()) as { predictions: Array<{ label: number }>; trace: Array<{ layer: string }> };
    assert.equal(json.predictions.length, 1);
    assert.deepEqual(
      json.trace.map((t) => t.layer),
      ['auth', 'rate-limit', 'validate', 'query-pattern', 'model', 'ood', 'abstain'],
    );
    const denied = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(denied.status, 401);
    assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'E_AUTH_REQUIRED');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /rampart_canary_robust_accuracy \d/);

    // Requests in flight when SIGTERM arrives are answered, then the process exits 0.
    const batch = JSON.stringify({ inputs: Array.from({ length: 32 }, (_, i) => Array.from(testSet.x.subarray(i * 784, (i + 1) * 784))) });
    const inFlight = Array.from({ length: 8 }, () =>
      fetch(`${url}/v1/predict`, { method: 'POST', headers, body: batch }).then(
        (r) => r.status,
        () => 'refused',
      ),
    );
    await new Promise((r) => setTimeout(r, 20));
    proc.kill('SIGTERM');
    const statuses = await Promise.all(inFlight);
    assert.equal(await exited, 0, out().stderr);
    assert.match(out().stdout, /stopped \(SIGTERM\)/);
    assert.ok(statuses.includes(200), `statuses: ${statuses.join(',')}`);
    for (const s of statuses) assert.ok(s === 200 || s === 503 || s === 'refused', `unexpected ${s}`);
  });

  test('serves a saved text filter (model, vocabulary, decision threshold) with the default layers', async () => {
    const splits = spamAssassinSplits({ seed: 3, maxChars: 600 });
    const train = sampleTexts(splits.train, 240, 1);
    const vocabulary = trainingVocabulary(train.texts);
    const { classifier } = await trainTextClassifier(train, {
      epochs: 2,
      seed: 1,
      id: 'spam-e2e',
      normalize: vocabularyDefence(vocabulary, { synonyms: false }),
      featurizer: { buckets: 2048, markerPrefix: OBFUSCATION_MARKER_PREFIX },
    });
    const textDir = join(dir, 'text-model');
    await saveTextClassifier(classifier, textDir);
    classifier.dispose();
    await saveVocabulary(textDir, { vocabulary, synonyms: false });
    await saveDecisionThreshold(textDir, { positiveClass: 'spam', threshold: 0.4 });

    const { proc, url, out, exited } = await startServe(['--model', textDir, '--config', join(dir, 'full.yaml'), '--log-level', 'warn']);
    child = proc;
    const models = (await (await fetch(`${url}/v1/models`)).json()) as {
      models: Array<{ kind: string; info: { normalization: string; decisionThreshold: { threshold: number } } }>;
    };
    assert.equal(models.models[0]?.kind, 'text');
    assert.equal(models.models[0]?.info.normalization, 'vocabulary');
    assert.equal(models.models[0]?.info.decisionThreshold.threshold, 0.4);
    const res = await fetch(`${url}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts: ['Cl\u200Bick h\u0435re to claim your FREE prize', 'Lunch at noon tomorrow?'] }),
    });
    assert.equal(res.status, 200);
    const json = (await res.json()) as {
      predictions: Array<{ probabilities: number[] }>;
      trace: Array<{ layer: string; decision: string }>;
    };
    assert.equal(json.predictions.length, 2);
    assert.equal(json.trace.find((t) => t.layer === 'normalize-text')?.decision, 'flag');
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, out().stderr);
  });
});
