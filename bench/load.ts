/**
 * Drives an HTTP server from a child process (bench/load-child.mjs) and returns what it
 * measured: closed-loop saturation with `connections` clients, or an open loop at a fixed
 * offered rate, every request timed with hrtime (sub-millisecond latencies).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LoadRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadOptions {
  url: string;
  mode: 'closed' | 'open';
  /** Clients (closed) or the most sockets the schedule may use (open). */
  connections: number;
  duration: number;
  /** Requests per second offered (open loop). */
  rate?: number;
  /** Requests the open loop may have outstanding; beyond it a scheduled request is dropped and counted. */
  maxInFlight?: number;
  requests: readonly LoadRequest[];
}

export interface LoadResult {
  mode: 'closed' | 'open';
  seconds: number;
  completed: number;
  rps: number;
  errors: number;
  dropped: number;
  statuses: Record<string, number>;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  offeredRate?: number;
  /** How late the open loop's generator sent its requests (its own health, not the server's). */
  dispatchLagMs?: { p50: number; p99: number };
}

const CHILD = fileURLToPath(new URL('./load-child.mjs', import.meta.url));

/** Runs one load in a child process. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited with ${code}`)),
    );
    child.stdin.end(JSON.stringify({ maxInFlight: 1000, ...options }));
  });
}
