/**
 * Capture as a plugin (`captureQueue`): what the model-facing defence layers flagged or
 * denied, and the probes the canary broke, go to the registry's capture store for review.
 * A request pays for an `onSend` check of its trace and, when something fired, one push
 * onto a bounded queue of references (the body's bytes as received, not the parsed body).
 * Batches go to a writer thread that parses, redacts, hashes and writes them
 * (governance/capture-writer.ts); the event loop only moves a batch's bytes there (small
 * bodies copied into one buffer first). bench/capture.ts measures both parts. On close the
 * queue is drained and the writer waited for before the server exits: SIGTERM loses
 * nothing that was accepted. Off unless `capture:` is set.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../../core/errors.js';
import { sizeOf } from '../../core/types.js';
import { addressGroup } from '../../defenses/rate-limit/index.js';
import { compactCapture, type RawCapture } from '../../governance/capture-prepare.js';
import { createCaptureQueue, type CaptureQueue } from '../../governance/capture-queue.js';
import type { CaptureInput, CapturedDecision } from '../../governance/capture-types.js';
import { startCaptureWriter } from '../../governance/capture-writer.js';
import { TRAFFIC_LAYERS } from '../layers.js';
import type { CanaryMiss } from '../state.js';
import { servePlugin } from './plugin.js';

/** Layers whose verdicts are about the caller or the request's form, not about what the model sees. */
const NOT_MODEL_FACING = new Set([...TRAFFIC_LAYERS, 'auth', 'validate', 'model']);

declare module 'fastify' {
  interface FastifyInstance {
    /** The capture queue, or undefined when capture is off. */
    captureQueue: CaptureQueue<RawCapture> | undefined;
  }
}

/** The canary's broken probes as examples to store, with their true labels. */
export function canaryCaptures(miss: CanaryMiss, at: string, max: number, threat?: string): CaptureInput[] {
  const { probes, misses, modelId } = miss;
  const decisions: CapturedDecision[] = [{ layer: 'canary', decision: 'deny', score: null, reason: 'probe misclassified' }];
  // The run's counts ride along, so the risk register can take the canary's miss rate as production evidence.
  const note = { probes: probes.labels.length, misses: misses.length };
  return misses.slice(0, max).map((m) => {
    const base = {
      source: 'canary' as const,
      model: modelId,
      client: 'canary',
      at,
      decisions,
      predicted: m.predicted,
      note,
      ...(threat ? { threat } : {}),
    };
    const label = probes.labels[m.index] as number;
    if (probes.kind === 'text') return { ...base, label, text: probes.texts[m.index] as string };
    const size = sizeOf(probes.shape);
    return { ...base, label, x: Array.from(probes.x.subarray(m.index * size, (m.index + 1) * size)), shape: [...probes.shape] };
  });
}

export const capturePlugin = servePlugin(
  'rampart-capture',
  { decorators: ['serveCore'], dependencies: ['rampart-auth'] },
  async (app: FastifyInstance) => {
    const { config, holder, log, options } = app.serveCore;
    if (config.capture === false) {
      app.decorate('captureQueue', undefined);
      return;
    }
    const c = config.capture;
    const dir = c.dir ?? options.captureDir;
    if (!dir) {
      throw new ConfigError(
        'E_SERVE_CONFIG',
        "capture needs a registry to store into: set capture.dir in the serve configuration (e.g. '.rampart'), or serve with --registry.",
      );
    }
    let written = 0;
    let lost = 0;
    const writer = startCaptureWriter(
      { dir, limits: c.limits, redact: c.redact },
      {
        onWritten: (r) => {
          written += r.written;
          if (r.evicted > 0) log.info({ event: 'capture-evicted', evicted: r.evicted }, `capture store evicted ${r.evicted} items`);
        },
        onFailed: (error, n) => {
          lost += n;
          log.error({ event: 'capture-failed', error, lost: n }, 'capture write failed');
        },
      },
    );
    const timing = options.captureTiming;
    const handOver = (batch: RawCapture[]): void => writer.send(batch.map(compactCapture));
    const queue = createCaptureQueue<RawCapture>({
      write: timing
        ? (batch) => {
            const t0 = process.hrtime.bigint();
            handOver(batch);
            timing.handOver(process.hrtime.bigint() - t0, batch.length);
          }
        : handOver,
      settle: () => writer.drain(),
      sample: c.sample,
      queueSize: c.queueSize,
      batchSize: c.batchSize,
      flushMs: c.flushMs,
    });
    app.decorate('captureQueue', queue);

    /** What a request pays: one pass over its trace and, when a model-facing layer fired, one queue push. */
    const capture = (req: FastifyRequest, reply: FastifyReply, payload: unknown): boolean => {
      const trace = req.trace;
      let source: 'flag' | 'deny' | undefined;
      if (trace) {
        for (const t of trace) {
          if (t.decision === 'pass' || NOT_MODEL_FACING.has(t.layer)) continue;
          source = t.decision === 'deny' ? 'deny' : (source ?? 'flag');
        }
      }
      if (source === undefined || req.routeOptions.url !== '/v1/predict') return false;
      const view = holder.current.view;
      return queue.offer({
        kind: 'request',
        source,
        at: Date.now(),
        client: req.principal ? `key:${req.principal.keyId}` : `ip:${addressGroup(req.ip)}`,
        model: view.id,
        channel: view.kind,
        shape: view.inputShape,
        // The bytes as sent when the JSON parser kept them (parsed in the writer thread), else the parsed body.
        body: req.rawJson ? null : req.body,
        ...(req.rawJson ? { json: req.rawJson } : {}),
        decisions: trace.map((t) => ({
          layer: t.layer,
          decision: t.decision,
          score: t.score,
          ...(t.reason ? { reason: t.reason } : {}),
        })),
        payload: reply.statusCode === 200 ? payload : undefined,
        perRequest: c.perRequest,
      });
    };
    type Done = (e: null, p: unknown) => void;
    // Two hooks rather than one with a branch: without a sink the request path reads no clock.
    if (timing) {
      app.addHook('onSend', (req: FastifyRequest, reply: FastifyReply, payload: unknown, done: Done) => {
        const t0 = process.hrtime.bigint();
        const captured = capture(req, reply, payload);
        const ns = process.hrtime.bigint() - t0;
        if (req.routeOptions.url === '/v1/predict') timing.request(ns, captured);
        done(null, payload);
      });
    } else {
      app.addHook('onSend', (req: FastifyRequest, reply: FastifyReply, payload: unknown, done: Done) => {
        capture(req, reply, payload);
        done(null, payload);
      });
    }
    if (c.canary) {
      app.serveCore.onCanaryMiss((miss) => {
        for (const item of canaryCaptures(miss, new Date().toISOString(), c.perRequest, c.canaryThreat))
          queue.offer({ kind: 'input', item });
      });
    }

    app.addHook('onClose', async () => {
      await queue.drain();
      const s = queue.stats();
      log.info({ event: 'capture-drained', ...s, written, lost }, `capture queue drained (${written} examples written, ${lost} lost)`);
    });
  },
);
