/**
 * The staged rollout carried out (`rollout`): an admin starts it with a candidate and its
 * phases; in a shadow phase the candidate scores a copy of every answered request after
 * the answer is sent (no effect on answers) and agreement with production is recorded; in
 * a canary phase a share of clients, chosen by a hash of their key (sticky), is answered
 * by the candidate; after each phase's duration its criteria decide: advance, promote the
 * candidate (the source's record moves, audited) or roll back (production stays). Every
 * step is audited and sent to the alert webhook; operators can pause, resume and abort.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { InputError, ServeError } from '../../core/errors.js';
import { addressGroup } from '../../defenses/rate-limit/index.js';
import { flatten } from '../../governance/capture-prepare.js';
import type { Json } from '../../governance/types.js';
import { probeAccuracy } from '../canary.js';
import { TRAFFIC_LAYERS } from '../layers.js';
import { ModelHolder, type Lease } from '../model-holder.js';
import { RolloutController, rolloutPhaseSchema, type RolloutDecision } from './rollout-controller.js';
import { servePlugin } from './plugin.js';

const NOT_MODEL_FACING = new Set([...TRAFFIC_LAYERS, 'auth', 'validate', 'model']);

const startBody = z
  .object({
    ref: z.string().min(1).max(300),
    reason: z.string().trim().min(1).max(1000),
    /** Default: the `rollout.phases` of the plan the candidate was built from (registry sources). */
    phases: z.array(rolloutPhaseSchema).min(1).max(16).optional(),
  })
  .strict();
const planRollout = z.object({ phases: z.array(rolloutPhaseSchema).min(1).max(16) }).passthrough();
const reasonBody = z.object({ reason: z.string().trim().min(1).max(1000) }).strict();

export interface RolloutApi {
  /** Starts a rollout of `ref` (loads and prepares it; production keeps answering). */
  start(input: unknown, by: string): Promise<Record<string, unknown>>;
  status(): Record<string, unknown> | null;
  pause(reason: string, by: string): Promise<Record<string, unknown>>;
  resume(reason: string, by: string): Promise<Record<string, unknown>>;
  abort(reason: string, by: string): Promise<Record<string, unknown>>;
  /** Decides the current phase when its time is up (the timer calls it; tests may). */
  tick(): Promise<RolloutDecision | undefined>;
  /** A lease on the candidate when this request's client is in the canary share. */
  route(req: FastifyRequest): Lease | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    rollout: RolloutApi;
  }
  interface FastifyRequest {
    /** Set when the rollout sent this request to the candidate. */
    rolloutCandidate: boolean;
  }
}

const clientOf = (req: FastifyRequest): string => (req.principal ? `key:${req.principal.keyId}` : `ip:${addressGroup(req.ip)}`);
/** A client's place in [0, 1): the same client always lands on the same side of a traffic share. */
const clientHash = (client: string): number => createHash('sha256').update(client).digest().readUInt32BE(0) / 2 ** 32;

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new InputError('E_ROLLOUT_INPUT', `${what} is invalid at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}.`);
}

function labelsOf(payload: unknown): number[] {
  if (typeof payload !== 'string') return [];
  try {
    const p = JSON.parse(payload) as { predictions?: Array<{ label?: unknown; probabilities?: unknown }> };
    return (p.predictions ?? []).map((x) => {
      if (typeof x.label === 'number') return x.label;
      const probs = Array.isArray(x.probabilities) ? (x.probabilities as number[]) : [];
      return probs.reduce((best, v, i) => (v > (probs[best] ?? -1) ? i : best), 0);
    });
  } catch {
    return [];
  }
}

export const rolloutPlugin = servePlugin(
  'rampart-rollout',
  { decorators: ['serveCore', 'rampart'], dependencies: ['rampart-auth'] },
  async (app: FastifyInstance) => {
    const core = app.serveCore;
    let controller: RolloutController | undefined;
    let candidate: ModelHolder | undefined;
    let deciding = false;
    app.decorateRequest('rolloutCandidate', false);

    const audit = async (action: string, details: Record<string, Json>): Promise<void> => {
      await core.source.audit({ action, subject: controller?.ref ?? 'rollout', details });
      core.log.info({ event: action, ...details }, `${action} ${controller?.ref ?? ''}`);
      await core.alert(action.replace('.', '-'), { ref: controller?.ref ?? null, ...details });
    };
    const finish = (): void => {
      candidate?.dispose();
      candidate = undefined;
    };
    const need = (): RolloutController => {
      if (!controller)
        throw new ServeError('E_ROLLOUT_NONE', 'rejected', 'No rollout has been started; POST /v1/rollout with { ref, reason, phases }.');
      return controller;
    };

    const api: RolloutApi = {
      async start(input, by) {
        const body = parse(startBody, input, 'The rollout request');
        if (controller?.active()) {
          throw new ServeError('E_ROLLOUT_ACTIVE', 'rejected', `A rollout of ${controller.ref} is in progress; pause or abort it first.`);
        }
        // The plan's rollout section is what gets carried out unless the request names phases.
        const fromPlan = body.phases ? undefined : planRollout.safeParse(core.source.rolloutOf?.(body.ref));
        const phases = body.phases ?? (fromPlan?.success ? fromPlan.data.phases : undefined);
        if (!phases) {
          throw new InputError(
            'E_ROLLOUT_INPUT',
            `No phases given and the plan of ${body.ref} has no rollout.phases; send phases: [{ name, traffic, duration, criteria }].`,
          );
        }
        // Loaded and prepared like a promotion, but not made live: production keeps answering.
        const staged = await core.source.promote(body.ref, body.reason);
        await core.prepare(staged.model);
        finish();
        candidate = new ModelHolder(staged.model);
        controller = new RolloutController(body.ref, phases);
        await audit('rollout.start', {
          by,
          reason: body.reason,
          candidate: staged.model.view.id,
          production: core.holder.current.view.id,
          phases: phases.map((p) => ({ name: p.name, traffic: p.traffic, durationMs: p.duration })),
          phasesFrom: body.phases ? 'request' : 'plan',
        });
        return controller.status();
      },
      status: () => controller?.status() ?? null,
      async pause(reason, by) {
        need().pause();
        await audit('rollout.pause', { by, reason, phase: need().phase.name });
        return need().status();
      },
      async resume(reason, by) {
        need().resume();
        await audit('rollout.resume', { by, reason, phase: need().phase.name });
        return need().status();
      },
      async abort(reason, by) {
        const c = need();
        if (!c.active()) throw new ServeError('E_ROLLOUT_NONE', 'rejected', `The rollout of ${c.ref} already ended (${c.state}).`);
        c.abort();
        finish();
        await audit('rollout.abort', { by, reason, phase: c.phase.name });
        return c.status();
      },
      async tick() {
        const c = controller;
        if (!c || !candidate || deciding || !c.due()) return undefined;
        deciding = true;
        try {
          const probes = app.canary?.probes;
          if (c.phase.criteria.minCanaryAccuracy !== undefined && probes) {
            const lease = candidate.acquire();
            try {
              c.stats.canaryAccuracy = await probeAccuracy(lease.model, probes);
            } finally {
              lease.release();
            }
          }
          const decision = c.decide();
          if (decision.kind === 'advance') {
            await audit('rollout.advance', { from: decision.from, to: decision.to, measured: decision.measured });
          } else if (decision.kind === 'promote') {
            const moved = await app.rampart.promote(c.ref, `rollout: every phase passed (${c.phases.map((p) => p.name).join(' → ')})`);
            finish();
            await audit('rollout.promote', { from: moved.from, to: moved.to, measured: decision.measured });
          } else if (decision.kind === 'rollback') {
            finish();
            await audit('rollout.rollback', { phase: decision.phase, failed: decision.failed, measured: decision.measured });
          }
          return decision;
        } finally {
          deciding = false;
        }
      },
      route(req) {
        const c = controller;
        if (!c || !candidate || c.state !== 'running' || c.phase.traffic === 0) return undefined;
        if (!c.routes(clientHash(clientOf(req)))) return undefined;
        req.rolloutCandidate = true;
        return candidate.acquire();
      },
    };
    app.decorate('rollout', api);

    app.addHook('onSend', (req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (e: null, p: unknown) => void) => {
      const c = controller;
      if (c?.state === 'running' && req.routeOptions.url === '/v1/predict') {
        if (req.rolloutCandidate) {
          const anomalous = req.trace.some((t) => t.decision !== 'pass' && !NOT_MODEL_FACING.has(t.layer));
          c.recordServed(anomalous, req.trace.find((t) => t.layer === 'model')?.ms ?? null);
        } else if (c.mirrors() && reply.statusCode === 200 && candidate) {
          const holder = candidate;
          const body = req.body as { inputs?: unknown; texts?: unknown } | undefined;
          // After the answer is on its way: the shadow never delays or changes it.
          setImmediate(() => void mirror(holder, body, labelsOf(payload)));
        }
      }
      done(null, payload);
    });

    async function mirror(holder: ModelHolder, body: { inputs?: unknown; texts?: unknown } | undefined, answered: number[]): Promise<void> {
      const c = controller;
      if (!c || answered.length === 0) return;
      const lease = holder.acquire();
      try {
        const view = lease.model.view;
        const start = performance.now();
        let labels: Int32Array;
        if (view.kind === 'text') {
          const texts = Array.isArray(body?.texts) ? (body.texts as unknown[]).filter((t): t is string => typeof t === 'string') : [];
          if (texts.length !== answered.length) return;
          labels = (await lease.model.infer({ texts })).labels;
        } else {
          const size = view.inputShape.reduce((a, b) => a * b, 1);
          const rows = (Array.isArray(body?.inputs) ? body.inputs : []).map((e) => flatten(e, size + 1));
          if (rows.length !== answered.length || rows.some((r) => r?.length !== size)) return;
          const x = Float32Array.from(rows.flat() as number[]);
          labels = (await lease.model.infer({ batch: { x, count: rows.length, shape: view.inputShape } })).labels;
        }
        const agreed = answered.filter((l, i) => labels[i] === l).length;
        c.recordMirrored(agreed, answered.length, performance.now() - start);
      } catch (error) {
        core.log.warn({ event: 'shadow-failed', error: error instanceof Error ? error.message : String(error) }, 'shadow scoring failed');
      } finally {
        lease.release();
      }
    }

    const by = (req: FastifyRequest): string => (req.principal ? `key:${req.principal.keyId}` : 'unknown');
    app.get('/v1/rollout', { config: { role: 'operator' } }, async () => ({ rollout: api.status() }));
    app.post('/v1/rollout', { config: { role: 'admin' } }, async (req) => ({ rollout: await api.start(req.body, by(req)) }));
    for (const action of ['pause', 'resume', 'abort'] as const) {
      app.post(`/v1/rollout/${action}`, { config: { role: 'operator' } }, async (req) => {
        const { reason } = parse(reasonBody, req.body, `The ${action} request`);
        return { rollout: await api[action](reason, by(req)) };
      });
    }

    if (core.options.timers !== false) {
      const timer = setInterval(() => {
        api
          .tick()
          .catch((error: unknown) =>
            core.log.error(
              { event: 'rollout-failed', error: error instanceof Error ? error.message : String(error) },
              'rollout step failed',
            ),
          );
      }, 250);
      timer.unref();
      app.addHook('onClose', async () => clearInterval(timer));
    }
    app.addHook('onClose', async () => finish());
  },
);
