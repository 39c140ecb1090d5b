/**
 * The console's changes, admin only, each through the governance function that audits it:
 * promote (a compare-and-set tag move from the digest the page showed, so two admins
 * cannot overwrite each other), rollback, and risk / vulnerability status changes. Every
 * change needs a reason; the actor is the signed-in key. Each answers with a redirect back
 * to the page (post/redirect/get).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { InputError } from '../core/errors.js';
import { RISK_STATUSES, VULN_STATUSES, type RiskStatus, type VulnStatus } from '../governance/index.js';
import type { ConsoleDeps } from './context.js';

const reason = z.string().trim().min(1, 'a reason is required').max(500);
const promoteForm = z.object({ tag: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), reason }).passthrough();
const rollbackForm = z.object({ from: z.string().regex(/^[0-9a-f]{64}$/), reason }).passthrough();
const riskForm = z.object({ status: z.enum(RISK_STATUSES as [RiskStatus, ...RiskStatus[]]), reason }).passthrough();
const vulnForm = z.object({ status: z.enum(VULN_STATUSES as [VulnStatus, ...VulnStatus[]]), reason }).passthrough();

/**
 * Parses a form with `schema`.
 *
 * @throws InputError `E_CONSOLE_INPUT` naming the field.
 */
export function parseForm<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new InputError(
    'E_CONSOLE_INPUT',
    `The form field '${issue?.path.join('.') ?? ''}' is invalid: ${issue?.message ?? 'invalid'}; correct it and submit again.`,
  );
}

/** The actor recorded for a change: the key's name, else its id. */
export function actorOf(req: FastifyRequest): string {
  const p = req.consolePrincipal;
  return `console:${p?.name ?? p?.keyId ?? 'unknown'}`;
}

const done = (path: string, message: string): string => `${path}?done=${encodeURIComponent(message)}`;

export function registerChanges(app: FastifyInstance, deps: ConsoleDeps): void {
  const { registry } = deps.gov;
  const admin = { config: { consoleRole: 'admin' as const } };

  app.post('/models/:digest/promote', admin, async (req, reply) => {
    const form = parseForm(promoteForm, req.body);
    const to = registry.get((req.params as { digest: string }).digest).digest;
    const seen = (req.body as Record<string, unknown>)[`from.${form.tag}`];
    const from = typeof seen === 'string' && seen !== '' ? seen : null;
    registry.moveTag(form.tag, { from, to, reason: form.reason, action: 'promote', actor: actorOf(req) });
    return reply.redirect(done(`/models/${to}`, `Promoted to ${form.tag}.`), 303);
  });

  app.post('/tags/:tag/rollback', admin, async (req, reply) => {
    const form = parseForm(rollbackForm, req.body);
    const tag = (req.params as { tag: string }).tag;
    const previous = registry.previous(tag);
    if (previous === undefined) throw new InputError('E_CONSOLE_INPUT', `Tag '${tag}' has no earlier target to roll back to.`);
    registry.moveTag(tag, { from: form.from, to: previous, reason: form.reason, action: 'rollback', actor: actorOf(req) });
    return reply.redirect(done(`/models/${previous}`, `Rolled ${tag} back.`), 303);
  });

  app.post('/risks/:id/status', admin, async (req, reply) => {
    const form = parseForm(riskForm, req.body);
    const id = (req.params as { id: string }).id;
    deps.gov.risks.update(id, { status: form.status, reason: `${form.reason} (${actorOf(req)})` });
    return reply.redirect(done('/risks', `${id} is now ${form.status}.`), 303);
  });

  app.post('/vulnerabilities/:id/status', admin, async (req, reply) => {
    const form = parseForm(vulnForm, req.body);
    const id = (req.params as { id: string }).id;
    // `eval:DIGEST reason` names the passing evaluation a verification needs.
    const m = /^eval:([0-9a-f]{4,64})\s*(.*)$/i.exec(form.reason);
    const note = `${m ? m[2] || 'verified' : form.reason} (${actorOf(req)})`;
    deps.gov.vulnerabilities.transition(id, form.status, { note, ...(m ? { evaluationDigest: m[1] as string } : {}) });
    return reply.redirect(done('/risks', `${id} is now ${form.status}.`), 303);
  });
}
