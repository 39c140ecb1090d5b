/**
 * Progress display for long work. On a terminal it draws a bar (cli-progress); in logs and
 * CI it prints a plain line at most every few seconds, so output stays readable.
 */
import cliProgress from 'cli-progress';

export interface ProgressBar {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Suppress all progress output. */
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
  /** Minimum time between plain-text lines when not on a terminal. */
  intervalMs?: number;
}

export function createProgress(title: string, options: ProgressOptions = {}): ProgressBar {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { update: () => undefined, stop: () => undefined };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${title} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted} | {label}`,
        stream,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, label = '') {
        if (!started) {
          bar.start(total, 0, { label });
          started = true;
        }
        bar.setTotal(total);
        bar.update(Math.floor(done), { label });
      },
      stop: () => started && bar.stop(),
    };
  }
  const interval = options.intervalMs ?? 5000;
  const startedAt = Date.now();
  let lastPrint = 0;
  let lastLine = '';
  return {
    update(done, total, label = '') {
      const now = Date.now();
      if (now - lastPrint < interval && done < total) return;
      lastPrint = now;
      const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
      lastLine = `${title}: ${pct}% (${Math.floor(done)}/${total}) ${label} [${((now - startedAt) / 1000).toFixed(0)}s]`;
      stream.write(`${lastLine}\n`);
    },
    stop: () => undefined,
  };
}
