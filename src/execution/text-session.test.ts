/**
 * A saved text filter as an executor model: the local executor and an in-process pool load
 * it from its directory and run text attack shards on it with the results of one call;
 * a text session refuses classifier work (attack rows, certification) with a coded error.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTextAttack } from '../attacks/text/registry.js';
import { RampartError } from '../core/errors.js';
import { takeFirst } from '../data/index.js';
import { loadSavedTextFilter } from '../defenses/normalize-text/saved-filter.js';
import { saveTextClassifier } from '../models/text/store.js';
import { textThreatModel } from '../threats/text-threat.js';
import { threatModel } from '../threats/threat-model.js';
import { trainTextClassifier } from '../training/text/train.js';
import { engine, smallMnist } from '../../test/fixtures.js';
import { createWorkerPool, localExecutor } from './create.js';
import { withSession } from './executor.js';
import { CERTIFY_KIND } from './handlers/certify.js';
import { packTexts, unpackTexts } from './handlers/text-attack.js';
import { attackTexts } from './text-attack.js';

const code = (c: string) => (e: unknown) => e instanceof RampartError && e.code === c;

describe('text filter sessions', () => {
  let dir: string;
  const filter = (): { kind: 'text-filter'; dir: string } => ({ kind: 'text-filter', dir: join(dir, 'model') });

  before(async () => {
    await engine();
    dir = await mkdtemp(join(tmpdir(), 'rampart-text-session-'));
    const texts = ['free cash prize now', 'claim your free bonus', 'team meeting notes', 'project review tomorrow'];
    const { classifier } = await trainTextClassifier(
      { name: 't', texts: [...texts, ...texts], labels: [1, 1, 0, 0, 1, 1, 0, 0], classes: ['ham', 'spam'] },
      { epochs: 8, learningRate: 0.05, featurizer: { buckets: 256 }, seed: 1 },
    );
    await saveTextClassifier(classifier, join(dir, 'model'));
    classifier.dispose();
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('packs texts (any Unicode) as UTF-8 and back', () => {
    const texts = ['', 'héllo wörld', 'fr\u200bee 𝐜𝐚𝐬𝐡', 'plain'];
    assert.deepEqual(unpackTexts(packTexts(texts)), texts);
  });

  it('shards of any size, here and on an in-process pool, give the one-call results', async () => {
    const texts = [
      'win free cash prize now',
      'notes from the team meeting',
      'free prize claim now',
      'review of the plan',
      'cash bonus now',
    ];
    const labels = Int32Array.from([1, 0, 1, 0, 1]);
    const threat = textThreatModel({ id: 'typos', maxWordFraction: 0.5, maxCharEditsPerWord: 2, families: ['typo', 'leet'] });
    const saved = await loadSavedTextFilter(filter().dir);
    const oneCall = await createTextAttack('greedy', { maxQueries: 30 }).run(saved.filter, texts, labels, threat, { seed: 3 });
    saved.model.dispose();
    const work = { attack: { id: 'greedy', options: { maxQueries: 30 } }, texts, labels, threat, seed: 3 };
    const pool = await createWorkerPool({ workers: 1 });
    try {
      for (const shardRows of [1, 2, 16]) {
        assert.deepEqual(
          await withSession(localExecutor(), filter(), (s) => attackTexts(s, { ...work, shardRows })),
          oneCall,
          `${shardRows}`,
        );
      }
      assert.deepEqual(await withSession(pool, filter(), (s) => attackTexts(s, { ...work, shardRows: 2 })), oneCall, 'pool');
    } finally {
      await pool.close();
    }
    await assert.rejects(
      withSession(localExecutor(), filter(), (s) => attackTexts(s, { ...work, attack: { id: 'nope' } })),
      code('E_UNKNOWN_TEXT_ATTACK'),
    );
  });

  it('refuses classifier work on a text filter', async () => {
    const data = takeFirst(smallMnist().test, 2);
    await withSession(localExecutor(), filter(), async (s) => {
      await assert.rejects(
        s.runRows({ data, rows: [0, 1], threat: threatModel({ norm: 'linf', epsilon: 0.1 }), attack: { id: 'fgsm' }, seed: 0 }),
        code('E_EXECUTOR_MODEL'),
      );
      await assert.rejects(s.runShards({ kind: CERTIFY_KIND, shards: [{}] }), code('E_EXECUTOR_MODEL'));
    });
  });
});
