/**
 * bench:text's seeds in parallel: each seed is its own process (`--seeds N --jobs 1`), up to
 * `jobs` at a time, so a 2-core machine trains and attacks two seeds at once (the TF.js wasm
 * backend and the searches use one core each). A seed's numbers do not depend on the others'
 * (its models, attacked sample and search generators come from its own seed and the split
 * seed), so they equal a run of all seeds in one process. Each child's log lines are passed
 * through with its seed in front; its rows come back through its JSON file.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FilterRow } from './text-compare-tables.js';

export interface SeedJobResult {
  rows: FilterRow[];
  /** Spam messages attacked (the same sample for every seed). */
  attacked: number;
  /** Each child's wall seconds, by seed. */
  seconds: Record<number, number>;
}

function runChild(args: readonly string[], seed: number, out: string, log: (msg: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, process.argv[1] as string, ...args, '--seeds', String(seed), '--jobs', '1', '--out', out],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let pending = '';
    const pass = (chunk: Buffer): void => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('[')) log(`seed ${seed} | ${line}`);
    };
    child.stdout.on('data', pass);
    child.stderr.on('data', (c: Buffer) => process.stderr.write(`[seed ${seed}] ${c.toString('utf8')}`));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`bench:text seed ${seed} exited with ${code}; its log is above (run it alone with --seeds ${seed}).`)),
    );
  });
}

/**
 * Runs one child per seed, at most `jobs` at once, with the parent's flags; returns their rows in seed order.
 *
 * @throws Error when a child exits non-zero (its stderr is passed through).
 */
export async function runSeedJobs(
  args: readonly string[],
  seeds: readonly number[],
  jobs: number,
  out: string,
  log: (msg: string) => void,
): Promise<SeedJobResult> {
  const file = (seed: number): string => join(dirname(out), `text-seed-${seed}.json`);
  const queue = [...seeds];
  const worker = async (): Promise<void> => {
    for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) await runChild(args, seed, file(seed), log);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, seeds.length)) }, worker));
  const result: SeedJobResult = { rows: [], attacked: 0, seconds: {} };
  for (const seed of seeds) {
    const json = JSON.parse(await readFile(file(seed), 'utf8')) as { rows: FilterRow[]; attacked: number; seconds: number };
    result.rows.push(...json.rows);
    result.attacked = json.attacked;
    result.seconds[seed] = json.seconds;
  }
  return result;
}
