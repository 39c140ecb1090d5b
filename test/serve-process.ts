/**
 * A real `rampart serve` child process on a loopback port, for the end-to-end and security
 * tests: started the way a user starts it, resolved once it prints its address. Not a test file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

export interface ServeProcess {
  proc: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  out(): { stdout: string; stderr: string };
  exited: Promise<number | null>;
  /** SIGKILL if still running (test cleanup). */
  kill(): void;
  /** SIGTERM, then SIGKILL after 10 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface StartServeOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Node flags before the script, e.g. `--max-old-space-size=512`. */
  nodeArgs?: string[];
  /** How long start-up may take (default 60 s, for a loaded machine). */
  timeoutMs?: number;
}

/**
 * Starts `rampart serve --port 0 ...args`; resolves once it prints its address.
 *
 * @throws Error naming the server's stderr when it exits early or does not start in time.
 */
export async function startServe(args: string[], options: StartServeOptions = {}): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', main, 'serve', '--port', '0', ...args], {
    cwd: root,
    env: { ...process.env, RAMPART_BACKEND: '', ...options.env },
  });
  let stdout = '';
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not start: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    proc.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    proc.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`server exited early: ${stderr}`));
    });
  });
  return {
    proc,
    url,
    stdout: () => stdout,
    stderr: () => stderr,
    out: () => ({ stdout, stderr }),
    exited,
    kill: () => void (proc.exitCode === null && proc.kill('SIGKILL')),
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
