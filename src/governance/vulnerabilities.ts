/**
 * Vulnerability records: filed when a gate fails, with a Markdown report stored as an
 * immutable registry artifact. Remediation moves open → fixed → verified; only an
 * evaluation registered after the filing, whose meta says it passed for the threat
 * (see {@link EvaluationMeta}), can verify a fix.
 */
import { RegistryError, listChoices } from '../core/errors.js';
import type { GovernanceContext } from './context.js';
import { registrationOrder } from './registry.js';
import { loadVulnerabilityTemplate, renderVulnerabilityReport } from './vulnerability-template.js';
import {
  SEVERITIES,
  VULN_STATUSES,
  type AuditLog,
  type EvaluationMeta,
  type Evidence,
  type Registry,
  type Severity,
  type VulnStatus,
  type VulnTransition,
  type Vulnerability,
  type VulnerabilityInput,
  type VulnerabilityRegister,
} from './types.js';

interface VulnRow {
  id: string;
  seq: number;
  threat_id: string;
  title: string;
  attack: string;
  severity: Severity;
  owner: string;
  remediation: string;
  status: VulnStatus;
  evidence: string;
  evaluation_digest: string | null;
  report_digest: string;
  verified_by: string | null;
  created_at: string;
  updated_at: string;
}

interface TransitionRow {
  from_status: VulnStatus;
  to_status: VulnStatus;
  at: string;
  actor: string;
  evaluation_digest: string | null;
  note: string | null;
}

/** Allowed moves. Reopening is allowed from fixed (the fix did not hold) and verified (a regression). */
const TRANSITIONS: Record<VulnStatus, readonly VulnStatus[]> = {
  open: ['fixed'],
  fixed: ['verified', 'open'],
  verified: ['open'],
};

function text(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new RegistryError('E_VULN_INPUT', `A vulnerability needs a non-empty ${name}; got ${JSON.stringify(value)}.`, {
      details: { [name]: value },
    });
  }
  return value.trim();
}

function checkEvidence(e: unknown): Evidence {
  const ev = e as Evidence | undefined;
  if (
    !ev ||
    typeof ev !== 'object' ||
    typeof ev.metric !== 'string' ||
    typeof ev.measured !== 'number' ||
    !Number.isFinite(ev.measured) ||
    (typeof ev.required !== 'number' && typeof ev.required !== 'string')
  ) {
    throw new RegistryError(
      'E_VULN_INPUT',
      "Vulnerability evidence must be { metric: string, measured: finite number, required: number | string, examples?: [...] }, e.g. { metric: 'robustAccuracy', measured: 0.41, required: '>= 0.8' }.",
      {
        details: { evidence: e as never },
      },
    );
  }
  if (ev.examples !== undefined && !Array.isArray(ev.examples))
    throw new RegistryError('E_VULN_INPUT', 'Vulnerability evidence.examples must be an array of flat records.');
  const x = ev.explanation as unknown;
  if (x !== undefined && !isExplanation(x))
    throw new RegistryError(
      'E_VULN_INPUT',
      'Vulnerability evidence.explanation must be { method: string, summary: string, top: [{ feature: string, weight: number }] }, as imageExplanationEvidence / textExplanationEvidence build it.',
    );
  return {
    metric: ev.metric,
    measured: ev.measured,
    required: ev.required,
    ...(ev.examples ? { examples: ev.examples } : {}),
    ...(x === undefined ? {} : { explanation: x }),
  };
}

function isExplanation(x: unknown): x is Evidence['explanation'] {
  const e = x as Record<string, unknown> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.method === 'string' &&
    typeof e.summary === 'string' &&
    Array.isArray(e.top) &&
    e.top.length <= 50 &&
    e.top.every((t: unknown) => {
      const r = t as Record<string, unknown> | null;
      return (
        typeof r === 'object' && r !== null && typeof r.feature === 'string' && typeof r.weight === 'number' && Number.isFinite(r.weight)
      );
    })
  );
}

/**
 * Why an evaluation cannot verify a fix for `threatId`, or undefined when it can. When
 * reviewers confirmed attacks for the threat (an adversarial set counts it), only an
 * evaluation that measured them and passed can verify: the fix must hold on the attacks
 * actually seen, not only on the evaluation's own.
 */
function whyNotPassing(meta: Partial<EvaluationMeta>, threatId: string, confirmedAttacks = false): string | undefined {
  if (confirmedAttacks) {
    const adv = (meta.adversarialSet as { threats?: Record<string, { passed?: boolean }> } | undefined)?.threats?.[threatId];
    if (!adv)
      return `it did not measure the confirmed attacks for '${threatId}' (add the adversarial sets to data.adversarial or text.adversarial, and criteria.adversarialSet)`;
    if (adv.passed !== true) return `the confirmed attacks for '${threatId}' still succeed on it (criteria.adversarialSet not met)`;
  }
  const perThreat = meta.threats;
  if (perThreat && typeof perThreat === 'object') {
    const result = perThreat[threatId];
    if (!result)
      return `it did not evaluate threat '${threatId}' (it covers ${
        Object.keys(perThreat)
          .map((t) => `'${t}'`)
          .join(', ') || 'no threats'
      })`;
    return result.passed === true ? undefined : `threat '${threatId}' failed in it`;
  }
  return meta.passed === true ? undefined : 'its meta does not say passed: true';
}

export function createVulnerabilityRegister(ctx: GovernanceContext, audit: AuditLog, registry: Registry): VulnerabilityRegister {
  const { db } = ctx;
  const q = {
    byId: db.prepare('SELECT * FROM vulnerabilities WHERE id = ?'),
    nextSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM vulnerabilities'),
    insert:
      db.prepare(`INSERT INTO vulnerabilities (id, seq, threat_id, title, attack, severity, owner, remediation, status, evidence, evaluation_digest, report_digest, verified_by, created_at, updated_at)
      VALUES (@id, @seq, @threat_id, @title, @attack, @severity, @owner, @remediation, 'open', @evidence, @evaluation_digest, @report_digest, NULL, @created_at, @created_at)`),
    setStatus: db.prepare('UPDATE vulnerabilities SET status = ?, verified_by = ?, updated_at = ? WHERE id = ?'),
    insertTransition: db.prepare(
      'INSERT INTO vuln_transitions (vuln_id, from_status, to_status, at, actor, evaluation_digest, note) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    transitions: db.prepare('SELECT * FROM vuln_transitions WHERE vuln_id = ? ORDER BY id'),
  };

  const toVuln = (r: VulnRow): Vulnerability => ({
    id: r.id,
    threatId: r.threat_id,
    title: r.title,
    attack: r.attack,
    severity: r.severity,
    owner: r.owner,
    remediation: r.remediation,
    status: r.status,
    evidence: JSON.parse(r.evidence) as Evidence,
    evaluationDigest: r.evaluation_digest,
    reportDigest: r.report_digest,
    verifiedBy: r.verified_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    history: (q.transitions.all(r.id) as TransitionRow[]).map((t): VulnTransition => ({
      from: t.from_status,
      to: t.to_status,
      at: t.at,
      actor: t.actor,
      evaluationDigest: t.evaluation_digest,
      note: t.note,
    })),
  });

  function get(id: string): Vulnerability {
    const row = q.byId.get(typeof id === 'string' ? id.toUpperCase() : id) as VulnRow | undefined;
    if (!row)
      throw new RegistryError('E_VULN_NOT_FOUND', `No vulnerability '${id}' in ${ctx.dir}; list them with 'rampart vuln ls'.`, {
        details: { id },
      });
    return toVuln(row);
  }

  return {
    file(input: VulnerabilityInput): Vulnerability {
      const threatId = text('threatId', input.threatId);
      const attack = text('attack', input.attack);
      const owner = text('owner', input.owner);
      const remediation = text('remediation', input.remediation);
      if (!SEVERITIES.includes(input.severity)) {
        throw new RegistryError(
          'E_VULN_INPUT',
          `Vulnerability severity must be ${listChoices(SEVERITIES)}; got ${JSON.stringify(input.severity)}.`,
          { details: { severity: input.severity } },
        );
      }
      const evidence = checkEvidence(input.evidence);
      const template = loadVulnerabilityTemplate(ctx.dir);
      return ctx.tx(() => {
        const evaluation = input.evaluationDigest === undefined ? undefined : registry.get(input.evaluationDigest);
        const seq = (q.nextSeq.get() as { n: number }).n;
        const id = `VULN-${String(seq).padStart(4, '0')}`;
        const createdAt = ctx.now();
        const title = input.title?.trim() || `${threatId} broken by ${attack}`;
        const markdown = renderVulnerabilityReport(template, {
          id,
          title,
          threatId,
          attack,
          severity: input.severity,
          owner,
          status: 'open',
          filedAt: createdAt,
          actor: ctx.actor,
          evaluationDigest: evaluation?.digest ?? null,
          evidence,
          remediation,
        });
        const report = registry.put({
          kind: 'vulnerability',
          name: id,
          bytes: markdown,
          mediaType: 'text/markdown',
          meta: { vulnerabilityId: id, threatId, severity: input.severity, attack },
          parents: evaluation ? [evaluation.digest] : [],
        });
        q.insert.run({
          id,
          seq,
          threat_id: threatId,
          title,
          attack,
          severity: input.severity,
          owner,
          remediation,
          evidence: JSON.stringify(evidence),
          evaluation_digest: evaluation?.digest ?? null,
          report_digest: report.digest,
          created_at: createdAt,
        });
        audit.append({
          action: 'vuln.file',
          subject: id,
          details: {
            threatId,
            attack,
            severity: input.severity,
            owner,
            report: report.digest,
            evaluation: evaluation?.digest ?? null,
            metric: evidence.metric,
            measured: evidence.measured,
          },
        });
        return get(id);
      });
    },

    transition(id: string, to: VulnStatus, options = {}): Vulnerability {
      if (!VULN_STATUSES.includes(to)) {
        throw new RegistryError(
          'E_VULN_TRANSITION',
          `A vulnerability can move to ${listChoices(VULN_STATUSES)}; got ${JSON.stringify(to)}.`,
          { details: { to } },
        );
      }
      return ctx.tx(() => {
        const vuln = get(id);
        if (!TRANSITIONS[vuln.status].includes(to)) {
          throw new RegistryError(
            'E_VULN_TRANSITION',
            `${vuln.id} is ${vuln.status}; from there it can move to ${listChoices(TRANSITIONS[vuln.status])}, not '${to}'.`,
            {
              details: { id: vuln.id, from: vuln.status, to },
            },
          );
        }
        let evaluationDigest: string | null = null;
        if (options.evaluationDigest !== undefined) evaluationDigest = registry.get(options.evaluationDigest).digest;
        if (to === 'verified') {
          if (evaluationDigest === null) {
            throw new RegistryError(
              'E_VULN_NOT_VERIFIED',
              `${vuln.id} can only be verified by a passing re-evaluation: give its registry digest (evaluationDigest / --evaluation DIGEST).`,
              { details: { id: vuln.id } },
            );
          }
          const evaluation = registry.get(evaluationDigest);
          const refuse = (why: string): never => {
            throw new RegistryError(
              'E_VULN_NOT_VERIFIED',
              `Evaluation ${evaluation.digest.slice(0, 12)} cannot verify ${vuln.id}: ${why}. Run the evaluation again on the fixed model and pass that digest.`,
              {
                details: { id: vuln.id, evaluation: evaluation.digest },
              },
            );
          };
          if (evaluation.kind !== 'evaluation') refuse(`it is a ${evaluation.kind}, not an evaluation`);
          if (evaluation.digest === vuln.evaluationDigest) refuse('it is the failing evaluation the vulnerability was filed from');
          const reportOrder = registrationOrder(ctx, vuln.reportDigest) ?? 0;
          if ((registrationOrder(ctx, evaluation.digest) ?? 0) < reportOrder)
            refuse('it was registered before the vulnerability was filed, so it is not a re-evaluation');
          const confirmed = registry
            .list({ kind: 'adversarial-set' })
            .some((a) => typeof a.meta.threats === 'object' && a.meta.threats !== null && vuln.threatId in (a.meta.threats as object));
          const why = whyNotPassing(evaluation.meta as Partial<EvaluationMeta>, vuln.threatId, confirmed);
          if (why) refuse(why);
        }
        const at = ctx.now();
        const note = options.note?.trim() || null;
        q.setStatus.run(to, to === 'verified' ? evaluationDigest : null, at, vuln.id);
        q.insertTransition.run(vuln.id, vuln.status, to, at, ctx.actor, evaluationDigest, note);
        audit.append({
          action: 'vuln.transition',
          subject: vuln.id,
          details: { from: vuln.status, to, evaluation: evaluationDigest, note },
        });
        return get(vuln.id);
      });
    },

    get,

    list(options = {}): Vulnerability[] {
      const where: string[] = [];
      const args: unknown[] = [];
      if (options.status !== undefined) {
        if (!VULN_STATUSES.includes(options.status))
          throw new RegistryError('E_VULN_INPUT', `Vulnerability status must be ${listChoices(VULN_STATUSES)}; got '${options.status}'.`);
        where.push('status = ?');
        args.push(options.status);
      }
      if (options.threatId !== undefined) {
        where.push('threat_id = ?');
        args.push(options.threatId);
      }
      const rows = db
        .prepare(`SELECT * FROM vulnerabilities ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq`)
        .all(...args) as VulnRow[];
      return rows.map(toVuln);
    },

    report(id: string): string {
      return registry.read(get(id).reportDigest).toString('utf8');
    },
  };
}
