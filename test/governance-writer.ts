/**
 * Child process for the crash test: writes to a registry in a loop until it is killed.
 * Each round stores a blob of varying size, a directory artifact, moves a tag and updates
 * a risk, and prints `committed N` after each transaction returns, so the parent knows
 * what must have survived.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '../src/core/rng.js';
import { openGovernance } from '../src/governance/index.js';

const [dir, seedArg] = process.argv.slice(2);
if (!dir) throw new Error('usage: governance-writer.ts DIR SEED');
const seed = Number(seedArg ?? 1);
const rng = createRng(seed);
const gov = openGovernance(dir, { actor: `writer-${seed}` });
// syncFromThreats is idempotent, so writers started together do not race to create the risk.
gov.risks.syncFromThreats([{ id: 'crash-threat', title: 'crash test' }]);
const scratch = join(dir, '..', `scratch-${seed}`);
mkdirSync(scratch, { recursive: true });

for (let i = 0; ; i++) {
  const size = 1024 + Math.floor(rng.next() * 256 * 1024);
  const bytes = Buffer.alloc(size);
  for (let k = 0; k < size; k += 4096) bytes[k] = Math.floor(rng.next() * 256);
  bytes.writeUInt32LE(i, 0);
  bytes.writeUInt32LE(seed, 4);
  const data = gov.registry.put({ kind: 'dataset', name: `data-${seed}-${i}`, bytes, meta: { i, seed } });
  writeFileSync(join(scratch, 'model.json'), JSON.stringify({ i, seed }));
  writeFileSync(join(scratch, 'weights.bin'), bytes.subarray(0, Math.max(8, size >> 1)));
  gov.transaction(() => {
    const model = gov.registry.put({ kind: 'model', name: `model-${seed}-${i}`, path: scratch, parents: [data.digest] });
    gov.registry.tag(model.digest, 'candidate', { reason: `round ${i}` });
    gov.risks.recordMeasurement('crash-threat', (i % 100) / 100);
    gov.audit.append({ action: 'train', subject: model.digest, details: { round: i } });
  });
  process.stdout.write(`committed ${i} ${data.digest}\n`);
}
