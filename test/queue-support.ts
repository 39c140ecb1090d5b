/**
 * What the queue tests share: a real `redis-server` on a free loopback port (no
 * persistence, stopped after), and real `rampart worker` child processes. Not a test file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

/** Why the queue tests skip, or undefined when redis-server is installed. */
export function redisMissing(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.error || probe.status !== 0
    ? 'redis-server is not installed (apt-get install redis-server); the queue tests need it'
    : undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface RedisProcess {
  url: string;
  port: number;
  /** SIGTERM and wait (the data is gone: no persistence). */
  stop(): Promise<void>;
  /** A new redis-server on the same port, empty (a restart). */
  restart(): Promise<RedisProcess>;
}

/** Starts `redis-server` on `port` (default: a free one) and waits until it accepts connections. */
export async function startRedis(port?: number): Promise<RedisProcess> {
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'rampart-redis-'));
  const proc = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 15_000);
    const check = (): void => {
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      } else if (proc.exitCode !== null) {
        clearTimeout(timer);
        reject(new Error(`redis-server exited: ${out}`));
      } else setTimeout(check, 50);
    };
    check();
  });
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  return { url: `redis://127.0.0.1:${p}`, port: p, stop, restart: async () => (await stop(), startRedis(p)) };
}

export interface WorkerProcess {
  proc: ChildProcess;
  stdout(): string;
  /** Resolves when stdout (from character `from` on) matches `pattern`. */
  waitFor(pattern: RegExp, options?: { timeoutMs?: number; from?: number }): Promise<RegExpExecArray>;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

/** Starts `rampart worker --queue url ...args` as a child process; resolves once it is ready. */
export async function startWorker(url: string, args: string[] = []): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', main, 'worker', '--queue', url, '--backend', 'wasm', ...args], {
    cwd: root,
    env: { ...process.env, RAMPART_BACKEND: '' },
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp, { timeoutMs = 60_000, from = 0 } = {}): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const check = (): void => {
        const m = pattern.exec(stdout.slice(from));
        if (m) resolve(m);
        else if (proc.exitCode !== null) reject(new Error(`worker exited (${proc.exitCode}): ${stderr}`));
        else if (Date.now() - started > timeoutMs)
          reject(new Error(`worker: no ${String(pattern)} in ${timeoutMs} ms: ${stdout}${stderr}`));
        else setTimeout(check, 20);
      };
      check();
    });
  await waitFor(/rampart worker: ready/);
  return {
    proc,
    stdout: () => stdout,
    waitFor,
    kill: (signal = 'SIGKILL') => void (proc.exitCode === null && proc.kill(signal)),
    exited,
  };
}
