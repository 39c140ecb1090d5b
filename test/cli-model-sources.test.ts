/**
 * `rampart eval|attack --model SOURCE` in a child process: the model flag takes any model
 * source (a malformed one and one that needs `--data` are refused with their codes before
 * any work), and a saved text filter is attacked from the command line with a text search.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { loadJsonlTexts } from '../src/data/text/index.js';
import { saveTextClassifier } from '../src/models/text/index.js';
import { trainTextClassifier } from '../src/training/text/train.js';
import { engine } from './fixtures.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

function rampart(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RAMPART_BACKEND: '' },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const SPAM = ['win', 'cash', 'prize', 'free', 'offer', 'click', 'money', 'bonus'];
const HAM = ['meeting', 'lunch', 'report', 'family', 'project', 'weekend', 'notes', 'garden'];

describe('the --model flag of eval and attack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-cli-sources-'));
  const texts = join(dir, 'spam.jsonl');
  const filterDir = join(dir, 'filter');
  after(() => rm(dir, { recursive: true, force: true }));

  before(async () => {
    await engine();
    const lines = Array.from({ length: 80 }, (_, i) => {
      const spam = i % 2 === 0;
      const words = spam ? SPAM : HAM;
      return JSON.stringify({
        text: Array.from({ length: 6 }, (_, k) => words[(i * 3 + k * 5) % words.length]).join(' '),
        label: spam ? 'spam' : 'ham',
      });
    });
    writeFileSync(texts, `${lines.join('\n')}\n`);
    const { classifier } = await trainTextClassifier(loadJsonlTexts(texts), { epochs: 3, hidden: 4, learningRate: 0.05, seed: 1 });
    await saveTextClassifier(classifier, filterDir);
    classifier.model.dispose();
  });

  it('refuses a source it cannot name, and an external model without --data, before any work', () => {
    const scheme = rampart('eval', '--model', 'ftp://host/model.onnx', '--quiet');
    assert.equal(scheme.code, 2, scheme.stderr);
    assert.match(scheme.stderr, /E_MODEL_SOURCE: .*scheme Rampart does not load/);
    const noData = rampart('attack', '--model', 'http://127.0.0.1:9/predict', '--quiet');
    assert.equal(noData.code, 2, noData.stderr);
    assert.match(noData.stderr, /E_MISSING_FLAG: Give the data to evaluate http:\/\/127\.0\.0\.1:9\/predict on with --data/);
  });

  it('points eval at attack for a text filter', () => {
    const r = rampart('eval', '--model', filterDir, '--quiet');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /E_TEXT_MODEL: .*rampart attack --model/);
  });

  it('attacks a saved text filter on JSONL texts and writes every adversarial text with its edits', async () => {
    const out = join(dir, 'text-attack.json');
    const r = rampart(
      'attack',
      '--model',
      filterDir,
      '--data',
      `jsonl:${texts}`,
      '--subset',
      'all',
      '--limit',
      '10',
      '--max-word-fraction',
      '1',
      '--families',
      'homoglyph,invisible',
      '--max-queries',
      '300',
      '--out',
      out,
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^greedy on .* \(spam\.jsonl\/all, 10 texts; ≤ 100\.00% of words, at most 10, families homoglyph, invisible\)/m);
    assert.match(r.stdout, /clean accuracy [\d.]+% -> accuracy under attack [\d.]+%; success rate [\d.]+%/);
    const result = JSON.parse(await readFile(out, 'utf8')) as {
      kind: string;
      summary: { examples: number; cleanAccuracy: number; accuracyUnderAttack: number };
      examples: { text: string; adversarial: string; success: boolean; correct: boolean; changes: unknown[] }[];
    };
    assert.equal(result.kind, 'rampart.text-attack-result');
    assert.equal(result.examples.length, 10);
    assert.equal(result.summary.examples, 10);
    assert.ok(result.summary.cleanAccuracy >= 0.8, `clean ${result.summary.cleanAccuracy}`);
    for (const e of result.examples) {
      if (e.success && e.correct) {
        assert.notEqual(e.adversarial, e.text);
        assert.ok(e.changes.length > 0);
      }
    }
    const broken = result.examples.filter((e) => e.correct && e.success).length;
    assert.ok(broken > 0, 'look-alike characters get past a filter that reads raw text');
    assert.equal(result.summary.accuracyUnderAttack, result.examples.filter((e) => e.correct).length / 10 - broken / 10);
  });
});
