/**
 * The review API for operators (`/v1/review`): list the queue, show one item with its
 * input, record a decision. It opens the registry the capture store lives in on its own
 * connection; a decision names the caller's key as the reviewer in the audit log. The
 * library functions (governance/review.ts) do the work; this only checks the edge.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { InputError, ServeError } from '../../core/errors.js';
import { CAPTURE_SOURCES, REVIEW_STATUSES, type CaptureSource, type ReviewStatus } from '../../governance/capture-types.js';
import { openGovernance } from '../../governance/governance.js';
import { decideReview, listReview, showReview } from '../../governance/review.js';
import type { Governance } from '../../governance/types.js';
import { servePlugin } from './plugin.js';

const listQuery = z
  .object({
    status: z.enum(REVIEW_STATUSES as [ReviewStatus, ...ReviewStatus[]]).optional(),
    source: z.enum(CAPTURE_SOURCES as [CaptureSource, ...CaptureSource[]]).optional(),
    after: z.coerce.number().int().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();
const idParam = z.object({ id: z.string().regex(/^cap_[0-9a-f]{16}$/, 'must be a capture id such as cap_0123456789abcdef') });

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new InputError('E_REVIEW_QUERY', `${what} is invalid at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}.`);
}

export const reviewPlugin = servePlugin(
  'rampart-review',
  { decorators: ['serveCore'], dependencies: ['rampart-auth'] },
  async (app: FastifyInstance) => {
    const { config, options } = app.serveCore;
    const dir = (config.capture === false ? undefined : config.capture.dir) ?? options.captureDir;
    let gov: Governance | undefined;
    const governance = (): Governance => {
      if (!dir) {
        throw new ServeError(
          'E_REVIEW_OFF',
          'rejected',
          'This server has no capture store to review; set capture.dir in its configuration or serve from a registry (--registry).',
        );
      }
      gov ??= openGovernance(dir, { actor: 'rampart-serve' });
      return gov;
    };
    app.addHook('onClose', async () => gov?.close());

    app.get('/v1/review', { config: { role: 'operator' } }, async (req) => {
      const q = parse(listQuery, req.query, 'The review query');
      const items = listReview(governance(), {
        ...(q.status ? { status: q.status } : {}),
        ...(q.source ? { source: q.source } : {}),
        ...(q.after !== undefined ? { afterSeq: q.after } : {}),
        limit: q.limit,
      });
      return { items, next: items.at(-1)?.seq ?? null };
    });

    app.get('/v1/review/:id', { config: { role: 'operator' } }, async (req) => {
      const { id } = parse(idParam, req.params, 'The review item id');
      const { item, input } = showReview(governance(), id);
      return { item, input: input.kind === 'image' ? { kind: 'image', shape: input.shape, x: Array.from(input.x) } : input };
    });

    app.post('/v1/review/:id/decision', { config: { role: 'operator' } }, async (req) => {
      const { id } = parse(idParam, req.params, 'The review item id');
      const p = req.principal;
      const reviewer = p ? `${p.name ? `${p.name} ` : ''}(key:${p.keyId})` : 'unknown';
      return { item: decideReview(governance(), id, req.body, reviewer) };
    });
  },
);
