/**
 * The requests behind an HTTP target: at most `concurrency` in flight, started no faster
 * than `ratePerSecond`, each under a timeout that covers reading the answer, the answer
 * capped in bytes, and failures that may pass (network errors, timeouts, 429, 5xx) retried
 * with exponential backoff and seeded jitter. Non-retryable statuses and bad bodies fail at
 * once with a coded error. The credential header is sent, never put in an error or a log.
 */
import { DataError, type RampartError } from '../../core/errors.js';
import { createRng, type Rng } from '../../core/rng.js';
import type { HttpTargetSpec } from './spec.js';

/** What the transport has done so far; retries are counted apart from the requests they repeat. */
export interface TransportStats {
  /** Requests sent for the first time. */
  requests: number;
  /** Repeated sends of a request after a retryable failure. */
  retries: number;
  /** Requests that failed for good (after their retries). */
  failures: number;
}

/** Statuses worth another try: the server is busy or briefly broken. */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Hooks of one {@link HttpTransport.send}: a last check once a slot is free, and the moment the request first goes out. */
export interface SendHooks {
  /** Called once the request holds a concurrency slot; false drops it unsent (throws {@link Skipped}). */
  proceed?: () => boolean;
  /** Called just before the first attempt is sent (not for retries). */
  onFirstSend?: () => void;
}

/** A request dropped before it was sent because `proceed` said no (a sibling request already failed). */
export class Skipped extends Error {}

class Retryable extends Error {
  constructor(
    readonly error: RampartError,
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
  }
}

/** Sends JSON bodies to one endpoint under the spec's limits. */
export class HttpTransport {
  readonly stats: TransportStats = { requests: 0, retries: 0, failures: 0 };
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly pacer?: Pacer;
  private readonly rng: Rng;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly spec: HttpTargetSpec,
    credential?: string,
  ) {
    this.rng = createRng(spec.seed);
    if (spec.ratePerSecond !== undefined) this.pacer = new Pacer(spec.ratePerSecond);
    this.headers = { 'content-type': 'application/json', accept: 'application/json', ...spec.headers };
    if (spec.authHeader && credential !== undefined) this.headers[spec.authHeader.toLowerCase()] = `${spec.authPrefix}${credential}`;
  }

  /**
   * Sends `body` and returns the parsed JSON answer, retrying what may pass.
   *
   * @throws Skipped when `hooks.proceed` returns false once a slot is free (nothing was sent).
   *
   * @throws DataError `E_TARGET_STATUS`, `E_TARGET_TIMEOUT`, `E_TARGET_UNREACHABLE`, `E_TARGET_RESPONSE_TOO_LARGE` or
   *   `E_TARGET_RESPONSE` (not JSON), each naming the endpoint and the fix.
   */
  async send(body: string, hooks: SendHooks = {}): Promise<unknown> {
    await this.acquire();
    try {
      if (hooks.proceed && !hooks.proceed()) throw new Skipped();
      hooks.onFirstSend?.();
      this.stats.requests++;
      for (let attempt = 0; ; attempt++) {
        await this.paced();
        try {
          return await this.once(body);
        } catch (error) {
          if (!(error instanceof Retryable)) {
            this.stats.failures++;
            throw error;
          }
          if (attempt >= this.spec.retries) {
            this.stats.failures++;
            throw error.error;
          }
          this.stats.retries++;
          await sleep(this.backoff(attempt, error.retryAfterMs));
        }
      }
    } finally {
      this.release();
    }
  }

  private backoff(attempt: number, retryAfterMs?: number): number {
    return backoffDelay(this.spec, attempt, this.rng, retryAfterMs);
  }

  private async once(body: string): Promise<unknown> {
    const { url, timeoutMs } = this.spec;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const timedOut = (): Retryable =>
      new Retryable(
        new DataError(
          'E_TARGET_TIMEOUT',
          `The endpoint ${url} did not answer within ${timeoutMs} ms; raise timeoutMs or lower batchSize.`,
          {
            details: { url, timeoutMs },
          },
        ),
      );
    try {
      let response: Response;
      try {
        response = await fetch(url, { method: this.spec.method, headers: this.headers, body, signal: controller.signal });
      } catch (error) {
        if (controller.signal.aborted) throw timedOut();
        const reason = error instanceof Error ? (((error.cause as Error | undefined)?.message ?? error.message) as string) : String(error);
        throw new Retryable(
          new DataError('E_TARGET_UNREACHABLE', `Cannot reach the endpoint ${url} (${reason}); check the URL and that the server runs.`, {
            cause: error,
            details: { url },
          }),
        );
      }
      let bytes: Uint8Array;
      try {
        bytes = await readCapped(response, this.spec.maxResponseBytes, url);
      } catch (error) {
        if (controller.signal.aborted) throw timedOut();
        throw error;
      }
      if (!response.ok) {
        const snippet = new TextDecoder().decode(bytes.subarray(0, 200));
        const error = new DataError(
          'E_TARGET_STATUS',
          `The endpoint ${url} answered HTTP ${response.status}: ${snippet}` +
            (response.status === 401 || response.status === 403 ? ' (check authHeader, authEnv and the key)' : ''),
          { details: { url, status: response.status } },
        );
        if (RETRYABLE_STATUS.has(response.status)) throw new Retryable(error, retryAfter(response.headers.get('retry-after')));
        throw error;
      }
      try {
        return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
      } catch (error) {
        throw new DataError(
          'E_TARGET_RESPONSE',
          `The endpoint ${url} answered with a body that is not JSON (${error instanceof Error ? error.message : 'decode error'}); ` +
            'point url at the JSON prediction route.',
          { cause: error, details: { url, bytes: bytes.byteLength } },
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until the request rate allows another start. */
  private async paced(): Promise<void> {
    if (!this.pacer) return;
    const now = performance.now();
    const start = this.pacer.reserve(now);
    if (start > now) await sleep(start - now);
  }

  private async acquire(): Promise<void> {
    if (this.inFlight < this.spec.concurrency) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter, so inFlight never overshoots.
    if (next) next();
    else this.inFlight--;
  }
}

/**
 * Reads a response body, refusing more than `max` bytes (checked against Content-Length
 * first, then while reading, so an endless body costs at most `max`).
 *
 * @throws DataError `E_TARGET_RESPONSE_TOO_LARGE` naming the endpoint and the option to raise.
 */
export async function readCapped(response: Response, max: number, url: string): Promise<Uint8Array> {
  const tooLarge = (bytes: number): DataError =>
    new DataError(
      'E_TARGET_RESPONSE_TOO_LARGE',
      `The endpoint ${url} answered with more than ${max} bytes (${bytes}); lower batchSize or raise maxResponseBytes.`,
      { details: { url, maxResponseBytes: max, bytes } },
    );
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > max) {
    await response.body?.cancel();
    throw tooLarge(declared);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooLarge(total);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
}

/**
 * The wait before retry `attempt` (0-based): `backoffMs * 2^attempt` capped at `maxBackoffMs`,
 * times a seeded jitter in [0.5, 1) so clients that failed together do not retry together; a
 * server's Retry-After wins when longer, still capped.
 *
 * @example backoffDelay({ backoffMs: 100, maxBackoffMs: 5000 }, 2, createRng(0)); // in [200, 400)
 */
export function backoffDelay(
  spec: Pick<HttpTargetSpec, 'backoffMs' | 'maxBackoffMs'>,
  attempt: number,
  rng: Rng,
  retryAfterMs?: number,
): number {
  const step = Math.min(spec.maxBackoffMs, spec.backoffMs * 2 ** attempt);
  const jittered = step * (0.5 + 0.5 * rng.next());
  return Math.min(spec.maxBackoffMs, Math.max(jittered, retryAfterMs ?? 0));
}

/** Start times for requests at most `ratePerSecond` apart: each reservation takes the next free slot. */
export class Pacer {
  private next = -Infinity;

  constructor(private readonly ratePerSecond: number) {}

  /** The time (same clock as `now`, ms) the next request may start, reserving that slot. */
  reserve(now: number): number {
    const start = Math.max(now, this.next);
    this.next = start + 1000 / this.ratePerSecond;
    return start;
  }
}

/** Retry-After in milliseconds when given as seconds (capped later by maxBackoffMs). */
function retryAfter(value: string | null): number | undefined {
  if (value === null || !/^\d{1,6}$/.test(value.trim())) return undefined;
  return Number(value) * 1000;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
