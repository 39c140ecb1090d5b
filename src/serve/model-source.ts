/**
 * Where the served model comes from, behind one seam: a directory source (a saved model
 * directory, with optional fallback directories to roll back to) and a registry source (a
 * tag in the governance registry; promote and rollback move the tag, and every move is in
 * the registry's audit log). The server only asks a source for the model that should be
 * live, to promote one, or to roll back; it never knows which kind it holds.
 */
import { appendFile, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DataError, RampartError, UsageError } from '../core/errors.js';
import { loadClassifierModel } from '../models/store.js';
import { loadOodDetector } from '../defenses/ood/index.js';
import type { Governance, Json } from '../governance/types.js';
import { imageServedModel, type ModelRef, type ServedModel } from './served-model.js';
import { loadTextServedModel } from './text-model-loader.js';
import { parseProbeSet, probeSetJson, type ProbeSet } from './canary.js';

export const CALIBRATION_FILE = 'calibration.json';

/** Turns a model directory into a served model; returns undefined when it is not its kind. */
export type ModelLoader = (dir: string, ref: ModelRef) => Promise<ServedModel | undefined>;

export interface LoadOptions {
  /** Extra loaders tried before the built-in text and image loaders. */
  loaders?: readonly ModelLoader[];
}

/**
 * A source over models built in this process (library use, tests): `load` gives the live
 * model, `fallbacks` are what rollbacks restore, in order. Audit events go to `onAudit`.
 */
export function memorySource(options: {
  load: () => Promise<ServedModel>;
  fallbacks?: ReadonlyArray<() => Promise<ServedModel>>;
  onAudit?: (event: AuditEvent) => void;
}): ModelSource {
  const stack = [...(options.fallbacks ?? [])].reverse();
  let label = 'memory model';
  const source: ModelSource = {
    kind: 'dir',
    describe: () => label,
    loadCurrent: options.load,
    previous: () => (stack.length > 0 ? `fallback ${stack.length}` : undefined),
    async rollback(reason, details = {}) {
      const next = stack[stack.length - 1];
      if (!next) return undefined;
      const model = await next();
      return staged(model, async () => {
        await source.audit({ action: 'rollback', subject: model.view.id, details: { reason, ...details } });
        stack.pop();
        label = model.view.id;
      });
    },
    promote(ref) {
      return Promise.reject(
        new UsageError(
          'E_PROMOTE_TARGET',
          `Cannot promote '${ref}': an in-memory source has no other models; serve a directory or a registry tag.`,
        ),
      );
    },
    audit(event) {
      options.onAudit?.(event);
      return Promise.resolve();
    },
    close() {},
  };
  return source;
}

/**
 * A move with its model loaded and the record not yet changed. `commit` writes the record
 * (and its audit entry) and throws, leaving the record as it was, when that fails; the
 * caller disposes the model then, so nothing leaks and the live model and the record agree.
 */
export interface StagedMove {
  readonly model: ServedModel;
  commit(): Promise<void>;
}

function staged(model: ServedModel, commit: () => Promise<void>): StagedMove {
  return {
    model,
    async commit() {
      try {
        await commit();
      } catch (cause) {
        if (cause instanceof RampartError) throw cause;
        throw new RampartError(
          'E_AUDIT_FAILED',
          'internal',
          'Recording the model move (its audit entry) failed, so the move was not made and the current model is still live; check the audit log or registry storage.',
          {
            cause,
          },
        );
      }
    },
  };
}

/**
 * Reads the softmax temperature a calibration step stored beside the model: `{ "temperature": T }`.
 *
 * @throws DataError `E_CALIBRATION_FILE` for a malformed file or a temperature that is not > 0.
 */
export async function readTemperature(dir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, CALIBRATION_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let t: unknown;
  try {
    t = (JSON.parse(text) as { temperature?: unknown }).temperature;
  } catch (cause) {
    throw new DataError('E_CALIBRATION_FILE', `${join(dir, CALIBRATION_FILE)} is not valid JSON.`, { cause });
  }
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
    throw new DataError(
      'E_CALIBRATION_FILE',
      `${join(dir, CALIBRATION_FILE)} must hold {"temperature": T} with T > 0; got ${JSON.stringify(t)}.`,
    );
  }
  return t;
}

/**
 * Loads a model directory: a saved text filter (see text-model-loader.ts), or an image model
 * with its calibration temperature and OOD detector.
 *
 * @throws DataError from the model loader (`E_MODEL_MISSING`, `E_MODEL_CORRUPT`, ...), `E_OOD_FILE`, `E_CALIBRATION_FILE`.
 */
export async function loadServedModel(dir: string, ref: ModelRef, options: LoadOptions = {}): Promise<ServedModel> {
  for (const loader of [...(options.loaders ?? []), loadTextServedModel]) {
    const model = await loader(dir, ref);
    if (model) return model;
  }
  const [fileTemperature, ood] = [await readTemperature(dir), await loadOodDetector(dir)];
  const stored = await loadClassifierModel(dir);
  // Temperature scaling stores T in the model's metadata; a calibration.json beside it also works.
  const temperature = (stored.info as { temperature?: number }).temperature ?? fileTemperature;
  const id = ref.source === 'registry' ? `${stored.info.architecture}@${ref.digest.slice(0, 12)}` : `${stored.info.architecture}:${dir}`;
  return imageServedModel(stored, { ref, id, ...(temperature === undefined ? {} : { temperature }), ...(ood ? { ood } : {}) });
}

export interface AuditEvent {
  action: string;
  subject: string;
  details: Record<string, Json>;
}

export interface ModelSource {
  readonly kind: 'dir' | 'registry';
  /** One line for logs, e.g. `registry .rampart tag production`. */
  describe(): string;
  /** The model that should be live now. */
  loadCurrent(): Promise<ServedModel>;
  /**
   * Stages a move to the previous model (the tag's earlier target, or the next fallback
   * directory): loads it without changing the record; undefined when there is nothing to
   * roll back to. The record moves (and is audited) only on `commit`.
   */
  rollback(reason: string, details?: Record<string, Json>): Promise<StagedMove | undefined>;
  /** Stages making `ref` (a registry digest or prefix, or a model directory) the live model. */
  promote(ref: string, reason: string): Promise<StagedMove>;
  /** What rollback would restore, for `/v1/models`. */
  previous(): string | undefined;
  /**
   * Where the record points now (a registry tag's digest), read fresh each call so a
   * replica notices a move another server or the CLI made. Undefined for sources only this
   * process moves.
   */
  currentKey?(): string | undefined;
  audit(event: AuditEvent): Promise<void>;
  /**
   * The canary's probe set for `model` when the source stores one (the registry: a
   * `probe-set` artifact whose parent is the model). When there is none yet, `make` builds
   * it and the source stores it, so every later start and every replica probes with the
   * same examples. Undefined when the source keeps no probe sets or `make` has none.
   */
  probeSet?(model: ServedModel, make: () => Promise<ProbeSet | undefined>): Promise<ProbeSet | undefined>;
  /** The `rollout` section of the plan `ref` was built from (registry lineage), when there is one. */
  rolloutOf?(ref: string): unknown;
  close(): void;
}

/**
 * A saved model directory. Fallback directories form the rollback stack (the first is
 * what a rollback restores first); promotions push. Audit events go to a JSONL file when
 * `auditLog` is given.
 */
export function directorySource(options: {
  dir: string;
  fallbacks?: readonly string[];
  auditLog?: string;
  load?: LoadOptions;
}): ModelSource {
  const stack = [...(options.fallbacks ?? [])].reverse().map((d) => resolve(d));
  let current = resolve(options.dir);
  const load = (dir: string): Promise<ServedModel> => loadServedModel(dir, { source: 'dir', dir }, options.load);
  const source: ModelSource = {
    kind: 'dir',
    describe: () => `directory ${current}`,
    loadCurrent: () => load(current),
    previous: () => stack[stack.length - 1],
    async rollback(reason, details = {}) {
      const target = stack[stack.length - 1];
      if (target === undefined) return undefined;
      const model = await load(target);
      const from = current;
      // The record moves only after the audit line is written: a failed write leaves it as it was.
      return staged(model, async () => {
        await source.audit({ action: 'rollback', subject: target, details: { from, to: target, reason, ...details } });
        stack.pop();
        current = target;
      });
    },
    async promote(ref, reason) {
      const dir = resolve(ref);
      if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
        throw new UsageError(
          'E_PROMOTE_TARGET',
          `Cannot promote '${ref}': not a model directory on the server; give a directory holding model.json.`,
        );
      }
      const model = await load(dir);
      const from = current;
      return staged(model, async () => {
        await source.audit({ action: 'promote', subject: dir, details: { from, to: dir, reason } });
        stack.push(current);
        current = dir;
      });
    },
    async audit(event) {
      if (!options.auditLog) return;
      await appendFile(options.auditLog, `${JSON.stringify({ at: new Date().toISOString(), actor: 'rampart-serve', ...event })}\n`);
    },
    close() {},
  };
  return source;
}

/**
 * A tag in the governance registry. Models are materialised (every byte checked against
 * its digest) into `cacheDir/<digest>` and loaded from there.
 */
export function registrySource(options: { governance: Governance; tag: string; cacheDir?: string; load?: LoadOptions }): ModelSource {
  const { governance, tag } = options;
  const registry = governance.registry;
  const cacheDir = options.cacheDir ?? join(governance.dir, 'serve-cache');
  const loadDigest = async (digest: string): Promise<ServedModel> => {
    const artifact = registry.get(digest);
    if (artifact.kind !== 'model') {
      throw new UsageError(
        'E_NOT_A_MODEL',
        `Registry artifact ${digest.slice(0, 12)} ('${artifact.name}') is a ${artifact.kind}, not a model; promote a model artifact.`,
      );
    }
    const dir = join(cacheDir, artifact.digest);
    if (!(await stat(join(dir, 'model.json')).catch(() => undefined))) registry.materialize(artifact.digest, dir);
    return loadServedModel(dir, { source: 'registry', digest: artifact.digest, tag, dir }, options.load);
  };
  return {
    kind: 'registry',
    describe: () => `registry ${governance.dir} tag ${tag}`,
    async loadCurrent() {
      const digest = registry.resolveTag(tag);
      if (!digest) {
        throw new DataError(
          'E_TAG_UNSET',
          `Tag '${tag}' points at no model in the registry at ${governance.dir}; promote one first (rampart registry promote <digest> ${tag}).`,
          {
            details: { tag },
          },
        );
      }
      return loadDigest(digest);
    },
    previous: () => registry.previous(tag),
    currentKey: () => registry.resolveTag(tag),
    async rollback(reason, details = {}) {
      const from = registry.resolveTag(tag);
      const target = registry.previous(tag);
      if (!from || !target) return undefined;
      // Load before moving the tag: a model that cannot load must not become the record.
      const model = await loadDigest(target);
      return staged(model, async () => {
        // Compare-and-set: the registry refuses (E_REGISTRY_TAG_MOVED) when another server or the
        // CLI moved the tag while this move was prepared.
        governance.transaction(() => {
          const event = registry.rollback(tag, { reason, to: target, from });
          governance.audit.append({
            action: 'serve.rollback',
            subject: tag,
            details: { from: event.previousDigest, to: event.digest, reason, ...details },
          });
        });
      });
    },
    async promote(ref, reason) {
      const digest = registry.get(ref).digest;
      const from = registry.resolveTag(tag);
      const model = await loadDigest(digest);
      return staged(model, async () => {
        registry.promote(digest, tag, { reason, from: from ?? null });
      });
    },
    async audit(event) {
      governance.audit.append({ action: event.action, subject: event.subject, details: event.details });
    },
    async probeSet(model, make) {
      if (model.ref.source !== 'registry') return make();
      const digest = model.ref.digest;
      const stored = registry.lineage(digest, { depth: 1 }).descendants.filter((n) => n.kind === 'probe-set');
      // Newest first: a probe set regenerated with other settings supersedes the older one.
      const newest = stored.map((n) => registry.get(n.digest)).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      if (newest) return parseProbeSet(registry.readJson(newest.digest), `registry probe-set ${newest.digest.slice(0, 12)}`);
      const made = await make();
      if (!made) return undefined;
      const count = made.labels.length;
      const put = registry.put({
        kind: 'probe-set',
        name: `${registry.get(digest).name} canary probes`,
        json: probeSetJson(made),
        parents: [digest],
        meta: { source: made.source, count },
      });
      return { ...made, source: `registry probe-set ${put.digest.slice(0, 12)} (${made.source})` };
    },
    rolloutOf(ref) {
      const plan = registry.lineage(registry.get(ref).digest).ancestors.find((n) => n.kind === 'plan');
      return plan ? (registry.readJson<{ rollout?: unknown }>(plan.digest).rollout ?? undefined) : undefined;
    },
    close: () => governance.close(),
  };
}
