/**
 * Review decisions from the console (operator role, as `/v1/review`): one item, or a batch
 * of ticked items in one transaction, each through `decideReview`, which validates the
 * decision, records the reviewer (the signed-in key's name) and audits it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { decideReview } from '../governance/index.js';
import { actorOf, parseForm } from './changes.js';
import type { ConsoleDeps } from './context.js';

const decideForm = z
  .object({
    verdict: z.enum(['attack', 'benign', 'relabel']),
    label: z
      .string()
      .regex(/^\d{0,6}$/)
      .optional(),
    reason: z.string().trim().min(1, 'a reason is required').max(2000),
  })
  .passthrough();
const batchForm = decideForm.extend({
  ids: z.union([z.string(), z.array(z.string()).max(200)]).transform((v) => (Array.isArray(v) ? v : [v])),
});

export function registerReviewChanges(app: FastifyInstance, deps: ConsoleDeps): void {
  const operator = { config: { consoleRole: 'operator' as const } };
  const reviewer = (actor: string): string => actor.replace(/^console:/, '');
  const decision = (f: z.infer<typeof decideForm>, fallback: number | null): object => {
    const label = f.label ? Number(f.label) : fallback;
    return { verdict: f.verdict, reason: f.reason, ...(label === null || label === undefined ? {} : { label }) };
  };

  app.post('/review/:id/decide', operator, async (req, reply) => {
    const f = parseForm(decideForm, req.body);
    const id = (req.params as { id: string }).id;
    decideReview(deps.gov, id, decision(f, null), reviewer(actorOf(req)));
    return reply.redirect(`/review?done=${encodeURIComponent(`${id}: ${f.verdict}.`)}`, 303);
  });

  app.post('/review/batch', operator, async (req, reply) => {
    const f = parseForm(batchForm, req.body);
    const who = reviewer(actorOf(req));
    // All or nothing: one bad item leaves the whole batch undecided.
    deps.gov.transaction(() => {
      for (const id of f.ids) decideReview(deps.gov, id, decision(f, deps.gov.captures.get(id).label), who);
    });
    return reply.redirect(`/review?done=${encodeURIComponent(`${f.ids.length} items: ${f.verdict}.`)}`, 303);
  });
}
