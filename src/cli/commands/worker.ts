/**
 * `rampart worker --queue redis://host:port`: takes shard jobs from the Redis queue of its
 * TF.js backend and runs them with the built-in handlers (attack shards: what robustness
 * evaluation, suites and dataset attacks send through `runRows`). Runs until SIGTERM or
 * SIGINT, which let the job in hand finish. One line per job on stdout.
 */
import type { Command } from 'commander';
import { EngineError, UsageError } from '../../core/errors.js';
import { initEngine } from '../../engine/backend.js';
import { defaultHandlers } from '../../execution/handlers/index.js';
import { redactUrl, startQueueWorker, type QueueWorkerOptions, type WorkerEvent } from '../../execution/queue/index.js';
import { spawnQueueThread, type QueueThreadMessage } from '../../execution/queue/threads.js';
import { say } from '../output.js';
import { wholeNumber } from '../parse.js';

interface WorkerFlags {
  queue?: string;
  prefix: string;
  concurrency: number;
  backend?: string;
  lockDuration: number;
  stalledInterval: number;
  cacheMb: number;
  maxArtifactMb: number;
  maxResultMb: number;
  quiet?: boolean;
}

const MiB = 1024 * 1024;

function describe(event: WorkerEvent, slot: number): string {
  const who = `worker ${process.pid}.${slot}`;
  switch (event.type) {
    case 'start':
      return `${who}: job ${event.jobId} start ${event.kind} rows ${event.rows[0]}-${event.rows[1]} attempt ${event.attempt}`;
    case 'done':
      return `${who}: job ${event.jobId} done in ${event.ms} ms`;
    case 'failed':
      return `${who}: job ${event.jobId} failed ${event.code}: ${event.message}`;
    case 'error':
      return `${who}: queue error: ${event.message}`;
  }
}

/** Runs `concurrency` worker threads until `stopped`; rejects if one cannot start. */
async function runThreads(
  options: QueueWorkerOptions,
  concurrency: number,
  log: (line: string) => void,
  stopped: Promise<string>,
): Promise<void> {
  const threads = Array.from({ length: concurrency }, (_, slot) => spawnQueueThread({ options, slot }));
  await Promise.all(
    threads.map(
      (thread, slot) =>
        new Promise<void>((resolve, reject) => {
          thread.on('message', (m: QueueThreadMessage) => {
            if (m.type === 'ready') resolve();
            else if (m.type === 'event') log(describe(m.event, slot));
            else reject(new EngineError(m.code ?? 'E_WORKER_START', `Queue worker thread ${slot} could not start: ${m.message}`));
          });
          thread.on('exit', (code) => reject(new EngineError('E_WORKER_START', `Queue worker thread ${slot} exited with code ${code}.`)));
          thread.on('error', reject);
        }),
    ),
  ).catch(async (error: unknown) => {
    await Promise.all(threads.map((t) => t.terminate()));
    throw error;
  });
  say(`rampart worker: ready (${concurrency} threads)`);
  await stopped;
  await Promise.all(
    threads.map(
      (t) =>
        new Promise((resolve) => {
          t.once('exit', resolve);
          t.postMessage({ type: 'close' });
        }),
    ),
  );
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Process evaluation shards from a Redis queue (start any number, on any machine that reaches Redis); stop with SIGTERM.')
    .option('--queue <url>', 'the Redis queue, redis://[:password@]host:port[/db] (or $RAMPART_QUEUE)')
    .option('--prefix <name>', 'key prefix shared with the coordinator', 'rampart')
    .option('--concurrency <n>', 'jobs at a time, one worker thread each', wholeNumber('--concurrency', 1), 1)
    .option('--backend <name>', 'TF.js backend; takes the jobs of coordinators on the same backend (default: as rampart eval)')
    .option('--lock-duration <ms>', "a killed worker's job runs elsewhere after this", wholeNumber('--lock-duration', 1), 30_000)
    .option('--stalled-interval <ms>', 'how often to look for jobs of killed workers', wholeNumber('--stalled-interval', 1), 30_000)
    .option('--cache-mb <n>', 'models and data kept per worker thread, by digest', wholeNumber('--cache-mb', 1), 512)
    .option('--max-artifact-mb <n>', 'largest model or data slice fetched', wholeNumber('--max-artifact-mb', 1), 256)
    .option('--max-result-mb <n>', 'largest shard result written back', wholeNumber('--max-result-mb', 1), 64)
    .option('--quiet', 'no per-job lines')
    .action(async (flags: WorkerFlags) => {
      const url = flags.queue ?? process.env.RAMPART_QUEUE;
      if (!url) throw new UsageError('E_MISSING_FLAG', 'Give the queue with --queue redis://host:port (or set RAMPART_QUEUE).');
      const engine = await initEngine(flags.backend === undefined ? {} : { backend: flags.backend });
      const options: QueueWorkerOptions = {
        url,
        prefix: flags.prefix,
        backend: engine.backend,
        lockDurationMs: flags.lockDuration,
        stalledIntervalMs: flags.stalledInterval,
        cacheBytes: flags.cacheMb * MiB,
        maxArtifactBytes: flags.maxArtifactMb * MiB,
        maxResultBytes: flags.maxResultMb * MiB,
      };
      const log = (line: string): void => {
        if (!flags.quiet || !line.includes(': job ')) say(line);
      };
      const stopped = new Promise<string>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      say(`rampart worker: queue ${redactUrl(url)} prefix ${flags.prefix} backend ${engine.backend} concurrency ${flags.concurrency}`);
      if (flags.concurrency > 1) {
        await runThreads(options, flags.concurrency, log, stopped);
      } else {
        const worker = await startQueueWorker(options, defaultHandlers(), (event) => log(describe(event, 0)));
        say('rampart worker: ready');
        const signal = await stopped;
        await worker.close();
        say(`rampart worker: stopped (${signal}, ${worker.done} jobs)`);
      }
    });
}
