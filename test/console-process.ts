/** A real `rampart console` child process on a loopback port, for the browser tests and the screenshots. Not a test file. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConsoleSeed } from './console-seed.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Starts `rampart console --port 0`; resolves with its address once it prints it. */
export async function startConsole(seed: ConsoleSeed): Promise<{ url: string; stop(): Promise<void> }> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'console', '--port', '0', '--registry', seed.dir, '--keys', seed.keysFile],
    { cwd: root, env: { ...process.env } },
  );
  let out = '';
  let err = '';
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`console did not start: ${err}`)), 60_000);
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    proc.on('exit', () => reject(new Error(`console exited early: ${err}`)));
  });
  return {
    url,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
