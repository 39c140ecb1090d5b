/**
 * Shared by the auth, metrics and query-pattern security tests: the real `rampart keys add`
 * and `rampart serve` in child processes on loopback, and a saved untrained MLP to serve
 * (these tests are about the server, not the model's accuracy).
 */
import { startServe as startShared, type ServeProcess } from '../serve-process.js';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initEngine } from '../../src/engine/backend.js';
import { buildModel } from '../../src/models/architectures.js';
import { saveClassifierModel } from '../../src/models/store.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

/** Runs the CLI to completion. */
export function rampart(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RAMPART_BACKEND: '' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A temp directory with an untrained MNIST-shaped MLP saved in `model/`. */
export async function modelDir(prefix: string): Promise<{ dir: string; model: string }> {
  await initEngine();
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const net = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
  const model = join(dir, 'model');
  await saveClassifierModel(net, model, { architecture: 'mlp', inputShape: [28, 28, 1], numClasses: 10, bounds: { min: 0, max: 1 } });
  net.dispose();
  return { dir, model };
}

/** Adds a key with `role` to `file` and returns it. */
export function addKey(file: string, role: string, hash: 'sha256' | 'scrypt' = 'sha256'): string {
  const r = rampart('keys', 'add', '--file', file, '--role', role, '--hash', hash);
  if (r.code !== 0) throw new Error(`keys add failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Writes a serve configuration (JSON is YAML) and returns its path. */
export async function writeConfig(dir: string, name: string, config: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(config));
  return path;
}

export type Served = ServeProcess;

/** Starts `rampart serve` quietly (`--log-level warn`) with `args` on an ephemeral loopback port. */
export function startServe(args: string[]): Promise<Served> {
  return startShared(['--log-level', 'warn', ...args]);
}

/** The quiet configuration the security tests start from: no canary, monitor or rollback timers. */
export const QUIET = { canary: false, monitor: false, rollback: false } as const;
