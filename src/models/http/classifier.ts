/**
 * A model behind an HTTP endpoint as a {@link Classifier}: a score or label target with no
 * TF.js graph. `queryScores` splits the rows into requests of `batchSize`, places each
 * request's rows at the input path of the body template, and reads each row's scores or
 * label from the answer, validated with zod (a wrong type, a wrong length or a missing field
 * is `E_TARGET_RESPONSE` naming the field). Every row sent is one query, counted once however
 * often its request is retried (retries are counted apart).
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { DataError, GradientError, InputError } from '../../core/errors.js';
import type { Bounds } from '../../core/types.js';
import { sizeOf } from '../../core/types.js';
import type { Classifier, TargetAccess } from '../classifier.js';
import type { QueryBudgeted } from './budget.js';
import { formatJsonPath, jsonTypeOf, parseJsonPath, rowsAt, withValueAt, type PathSegment } from './json-path.js';
import { outputPathOf, type HttpTargetSpec } from './spec.js';
import { Skipped, type HttpTransport, type TransportStats } from './transport.js';

/** Queries sent and the transport's request counts. */
export interface HttpTargetStats extends TransportStats {
  /** Rows sent to the endpoint: one query each, retries not counted again. */
  queries: number;
}

export class HttpClassifier implements Classifier, QueryBudgeted {
  readonly id: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly bounds: Bounds;
  readonly differentiable = false;
  readonly access: TargetAccess;
  readonly maxQueriesPerExample?: number;
  private queries = 0;
  private disposed = false;
  private readonly inputSegments: PathSegment[];
  private readonly outputSegments: PathSegment[];
  private readonly rowSchema: z.ZodType<number | number[]>;

  constructor(
    private readonly spec: HttpTargetSpec,
    private readonly transport: HttpTransport,
  ) {
    const url = new URL(spec.url);
    this.id = spec.id ?? `${url.host}${url.pathname}`;
    this.inputShape = [...spec.inputShape];
    this.numClasses = spec.numClasses;
    this.bounds = spec.bounds;
    this.access = spec.output === 'scores' ? 'scores' : 'labels';
    if (spec.maxQueriesPerExample !== undefined) this.maxQueriesPerExample = spec.maxQueriesPerExample;
    // The schema checked both paths parse.
    this.inputSegments = parseJsonPath(spec.input.path) as PathSegment[];
    this.outputSegments = parseJsonPath(outputPathOf(spec)) as PathSegment[];
    this.rowSchema =
      spec.output === 'scores'
        ? z.array(z.number()).length(spec.numClasses)
        : z
            .int()
            .min(0)
            .max(spec.numClasses - 1);
  }

  /** Black box: no TF.js graph to run or differentiate. */
  logits(): tf.Tensor2D {
    throw new GradientError(
      'E_NOT_WHITE_BOX',
      `Model '${this.id}' is an HTTP endpoint: it answers queries (queryScores), not TF.js tensors; use a score or label attack (square, hsj).`,
      { details: { model: this.id } },
    );
  }

  /** Queries sent so far and the requests, retries and failures behind them. */
  stats(): HttpTargetStats {
    return { queries: this.queries, ...this.transport.stats };
  }

  /**
   * Scores of `count` row-major rows, `[count * numClasses]` (one-hot rows for a label target).
   *
   * @throws InputError `E_INPUT_SHAPE` when `rows` does not hold `count` rows of the input shape.
   * @throws DataError `E_TARGET_RESPONSE` for an answer without the rows' scores or labels; whatever the transport throws.
   */
  async queryScores(rows: Float32Array, count: number): Promise<Float32Array> {
    if (this.disposed) throw new InputError('E_TARGET_DISPOSED', `Model '${this.id}' was disposed; load it again to send more queries.`);
    const d = sizeOf(this.inputShape);
    if (!Number.isInteger(count) || count < 0 || rows.length !== count * d) {
      throw new InputError(
        'E_INPUT_SHAPE',
        `queryScores got ${rows.length} values for ${count} rows, but model '${this.id}' takes ${d} values per row.`,
        { details: { values: rows.length, count, rowSize: d } },
      );
    }
    const C = this.numClasses;
    const out = new Float32Array(count * C);
    const requests: Promise<void>[] = [];
    // Once one request fails for good, the ones still waiting for a slot are dropped unsent
    // (and uncounted) rather than sent to an endpoint that is failing.
    let failed = false;
    for (let start = 0; start < count; start += this.spec.batchSize) {
      const end = Math.min(count, start + this.spec.batchSize);
      requests.push(
        (async () => {
          const body = this.encode(rows.subarray(start * d, end * d), end - start);
          try {
            const answer = await this.transport.send(body, {
              proceed: () => !failed,
              onFirstSend: () => (this.queries += end - start),
            });
            this.decode(answer, end - start, out.subarray(start * C, end * C));
          } catch (error) {
            failed = true;
            throw error;
          }
        })(),
      );
    }
    // Wait for every request (so none is left running unobserved), then report the first real failure.
    const settled = await Promise.allSettled(requests);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !(s.reason instanceof Skipped));
    if (failure) throw failure.reason;
    return out;
  }

  /** Forgets the endpoint: later queries fail with `E_TARGET_DISPOSED`. Safe to call twice. */
  dispose(): void {
    this.disposed = true;
  }

  private encode(rows: Float32Array, count: number): string {
    const d = rows.length / Math.max(1, count);
    const values: unknown[] = [];
    for (let i = 0; i < count; i++) {
      const flat = Array.from(rows.subarray(i * d, (i + 1) * d));
      values.push(this.spec.input.format === 'flat' ? flat : nest(flat, this.inputShape));
    }
    return JSON.stringify(withValueAt(this.spec.input.template, this.inputSegments, values));
  }

  private decode(answer: unknown, count: number, out: Float32Array): void {
    const url = this.spec.url;
    const found = rowsAt(answer, this.outputSegments);
    if ('miss' in found) {
      throw new DataError(
        'E_TARGET_RESPONSE',
        `The endpoint ${url} answered without ${found.miss.at} (found ${found.miss.found}); set outputPath to where the ${this.spec.output} are.`,
        { details: { url, field: found.miss.at } },
      );
    }
    if (found.rows.length !== count) {
      throw new DataError(
        'E_TARGET_RESPONSE',
        `The endpoint ${url} answered ${found.rows.length} rows at ${formatJsonPath(this.outputSegments)} for ${count} sent; ` +
          'check outputPath and that the endpoint takes batches (else set batchSize: 1).',
        { details: { url, field: formatJsonPath(this.outputSegments), expected: count, actual: found.rows.length } },
      );
    }
    const C = this.numClasses;
    found.rows.forEach((row, i) => {
      const parsed = this.rowSchema.safeParse(row);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = formatJsonPath(this.outputSegments, i) + (issue?.path ?? []).map((p) => `[${String(p)}]`).join('');
        const want = this.spec.output === 'scores' ? `${C} finite numbers` : `a class index in 0..${C - 1}`;
        throw new DataError(
          'E_TARGET_RESPONSE',
          `The endpoint ${url} answered ${jsonTypeOf(row)} at ${field} where ${want} belong (${issue?.message ?? 'invalid'}); ` +
            'check output, outputPath and numClasses.',
          { details: { url, field } },
        );
      }
      const value = parsed.data;
      if (typeof value === 'number') out[i * C + value] = 1;
      else out.set(value, i * C);
    });
  }
}

/** A flat row as nested arrays of `shape`. */
function nest(flat: number[], shape: readonly number[]): unknown[] {
  if (shape.length <= 1) return flat;
  const inner = shape.slice(1);
  const step = inner.reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] as number }, (_, k) => nest(flat.slice(k * step, (k + 1) * step), inner));
}
