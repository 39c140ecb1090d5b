/**
 * The capture store's vocabulary: what the server hands over about one flagged, denied or
 * canary-broken example, what a stored row looks like, and the capture options (sampling,
 * limits, redaction) checked with a schema at the edge.
 */
import { z } from 'zod';

/** Why an example was captured. `evaluation` rows come from an evaluation's examples, not from traffic. */
export type CaptureSource = 'flag' | 'deny' | 'canary' | 'evaluation';
export const CAPTURE_SOURCES: readonly CaptureSource[] = ['flag', 'deny', 'canary', 'evaluation'];

/** A reviewer's verdict. `pending` until someone decides. */
export type ReviewStatus = 'pending' | 'attack' | 'benign' | 'relabel';
export const REVIEW_STATUSES: readonly ReviewStatus[] = ['pending', 'attack', 'benign', 'relabel'];

/** One layer's decision as stored (the server's trace entry without timing). */
export interface CapturedDecision {
  layer: string;
  decision: 'pass' | 'flag' | 'deny';
  score: number | null;
  reason?: string;
}

/** One example to store. Exactly one of `x` (with `shape`) or `text`. */
export interface CaptureInput {
  source: CaptureSource;
  /** The model that saw it (its registry digest or directory id). */
  model: string;
  /** Who sent it: `key:<id>` or `ip:<group>`, never the key itself. */
  client: string;
  /** ISO time it was seen. */
  at: string;
  decisions: CapturedDecision[];
  x?: ArrayLike<number>;
  shape?: readonly number[];
  text?: string;
  /** What the model answered, when it answered. */
  predicted?: number | null;
  /** The known true label (canary probes, evaluation examples). */
  label?: number | null;
  /** The threat id the example belongs to, when known (canary, evaluation). */
  threat?: string | null;
  /** Free facts (evaluation digest, attack id...). */
  note?: Record<string, string | number | boolean | null>;
}

/** A stored capture with its review state. */
export interface CaptureRecord {
  id: string;
  seq: number;
  at: string;
  source: CaptureSource;
  channel: 'image' | 'text';
  model: string;
  client: string;
  /** sha256 of the stored input (the redacted text, or the float32 bytes plus shape). */
  inputDigest: string;
  inputBytes: number;
  shape: number[] | null;
  predicted: number | null;
  label: number | null;
  threat: string | null;
  decisions: CapturedDecision[];
  redacted: boolean;
  note: Record<string, string | number | boolean | null>;
  review: { status: ReviewStatus; trueLabel: number | null; reviewer: string | null; reason: string | null; decidedAt: string | null };
}

/** A stored input, read back. */
export type CapturedInput = { kind: 'image'; x: Float32Array; shape: number[] } | { kind: 'text'; text: string };

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `'500ms' | '5s' | '30m' | '24h' | '7d'` or milliseconds as a number. */
export const durationSchema = z.union([
  z.number().int().min(0),
  z
    .string()
    .regex(DURATION, 'must be a duration such as 5s, 30m, 24h or 7d')
    .transform((s) => {
      const m = DURATION.exec(s) as RegExpExecArray;
      return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    }),
]);

export const redactionSchema = z
  .object({ emails: z.boolean().default(true), urls: z.boolean().default(true), numbers: z.boolean().default(true) })
  .strict();
export type RedactionOptions = z.infer<typeof redactionSchema>;

/** The limits every capture store enforces; also what `rampart serve`'s `capture:` section holds. */
export const captureLimitsSchema = z
  .object({
    maxItems: z.number().int().positive().max(10_000_000).default(10_000),
    maxBytes: z
      .number()
      .int()
      .positive()
      .default(256 * 1024 * 1024),
    maxAge: durationSchema.default(30 * 86_400_000),
    /** One input's bytes (float32 pixels or UTF-8 text); larger ones are cut off (text) or skipped (images). */
    maxInputBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024),
  })
  .strict();
export type CaptureLimits = z.infer<typeof captureLimitsSchema>;

export const captureConfigSchema = z
  .object({
    /** The registry directory (`.rampart`) to store into; default: the registry the server serves from. */
    dir: z.string().min(1).optional(),
    /** Share of eligible examples kept, 0–1. */
    sample: z.number().min(0).max(1).default(1),
    limits: captureLimitsSchema.default(() => captureLimitsSchema.parse({})),
    redact: redactionSchema.default(() => redactionSchema.parse({})),
    /** Items waiting to be written; when full, new ones are dropped (counted), never blocking a request. */
    queueSize: z.number().int().positive().max(100_000).default(2048),
    /** Items written per transaction. */
    batchSize: z.number().int().positive().max(1024).default(64),
    flushMs: z.number().int().positive().max(60_000).default(500),
    /** Examples kept from one request (a batch of 64 flagged inputs is one campaign, not 64 findings). */
    perRequest: z.number().int().positive().max(256).default(8),
    /** Also capture the canary's broken probes. */
    canary: z.boolean().default(true),
    /** The plan threat id the canary's probes stand for (its norm and epsilon), so its misses count against that risk. */
    canaryThreat: z.string().min(1).max(128).optional(),
  })
  .strict();
export type CaptureConfig = z.infer<typeof captureConfigSchema>;

export interface CaptureListFilter {
  source?: CaptureSource;
  status?: ReviewStatus;
  model?: string;
  /** Only rows after this sequence number. */
  afterSeq?: number;
  limit?: number;
}

export interface CaptureStats {
  items: number;
  bytes: number;
  evicted: number;
  bySource: Record<string, number>;
  byStatus: Record<string, number>;
}

export interface CaptureWriteOptions {
  limits: CaptureLimits;
  redact?: RedactionOptions;
  /** The audit actor for the write (default: the governance actor). */
  actor?: string;
}

export interface CaptureWriteResult {
  written: number;
  /** Inputs skipped as too large or malformed. */
  skipped: number;
  evicted: number;
  ids: string[];
}

export interface CaptureStore {
  /**
   * Stores `items` in one transaction, then evicts beyond the limits.
   *
   * @throws RegistryError `E_CAPTURE_INPUT` for an item without an input or with an unknown source.
   */
  write(items: readonly CaptureInput[], options: CaptureWriteOptions): CaptureWriteResult;
  /** Newest first unless `afterSeq` is given (then oldest first). */
  list(filter?: CaptureListFilter): CaptureRecord[];
  /** @throws RegistryError `E_CAPTURE_NOT_FOUND`. */
  get(id: string): CaptureRecord;
  /** @throws RegistryError `E_CAPTURE_NOT_FOUND`; RegistryStorageError when the blob changed. */
  input(id: string): CapturedInput;
  stats(): CaptureStats;
  /** Records a review decision on the row (the caller audits it in the same transaction). */
  setReview(id: string, review: { status: string; trueLabel: number | null; reviewer: string; reason: string; at: string }): void;
}
