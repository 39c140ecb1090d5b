/**
 * The risk register: one risk per plan threat plus manual entries, scored likelihood ×
 * impact, with a residual score from the latest measured attack success (see
 * `risk-score.ts` for the formula and the bands). Every change is audited in the same
 * transaction.
 */
import { RegistryError, listChoices } from '../core/errors.js';
import type { GovernanceContext } from './context.js';
import { inherentScore, residualScore, riskBand } from './risk-score.js';
import {
  RISK_STATUSES,
  type AuditLog,
  type Json,
  type Registry,
  type Risk,
  type RiskInput,
  type RiskPatch,
  type RiskRegister,
  type RiskStatus,
  type ThreatLike,
} from './types.js';

interface RiskRow {
  id: string;
  seq: number;
  threat_id: string | null;
  title: string;
  likelihood: number;
  impact: number;
  owner: string;
  status: RiskStatus;
  notes: string | null;
  measured_success: number | null;
  measured_at: string | null;
  evaluation_digest: string | null;
  created_at: string;
  updated_at: string;
}

const DEFAULT_SCORE = 3;

function toRisk(r: RiskRow): Risk {
  const inherent = inherentScore(r.likelihood, r.impact);
  const residual = residualScore(r.likelihood, r.impact, r.measured_success);
  return {
    id: r.id,
    threatId: r.threat_id,
    title: r.title,
    likelihood: r.likelihood,
    impact: r.impact,
    owner: r.owner,
    status: r.status,
    notes: r.notes,
    inherentScore: inherent,
    inherentBand: riskBand(inherent),
    measuredSuccess: r.measured_success,
    measuredAt: r.measured_at,
    evaluationDigest: r.evaluation_digest,
    residualScore: residual,
    residualBand: riskBand(residual),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function checkScore(name: 'likelihood' | 'impact', value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 5) {
    throw new RegistryError('E_RISK_INPUT', `Risk ${name} must be a whole number from 1 to 5; got ${JSON.stringify(value)}.`, {
      details: { [name]: value },
    });
  }
  return value;
}

function checkText(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new RegistryError('E_RISK_INPUT', `Risk ${name} must be a non-empty string; got ${JSON.stringify(value)}.`, {
      details: { [name]: value },
    });
  return value.trim();
}

function checkStatus(value: unknown): RiskStatus {
  if (!RISK_STATUSES.includes(value as RiskStatus))
    throw new RegistryError('E_RISK_INPUT', `Risk status must be ${listChoices(RISK_STATUSES)}; got ${JSON.stringify(value)}.`, {
      details: { status: value },
    });
  return value as RiskStatus;
}

export function createRiskRegister(ctx: GovernanceContext, audit: AuditLog, registry: Registry): RiskRegister {
  const { db } = ctx;
  const q = {
    byId: db.prepare('SELECT * FROM risks WHERE id = ?'),
    byThreat: db.prepare('SELECT * FROM risks WHERE threat_id = ?'),
    nextSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM risks'),
    insert: db.prepare(`INSERT INTO risks (id, seq, threat_id, title, likelihood, impact, owner, status, notes, created_at, updated_at)
      VALUES (@id, @seq, @threat_id, @title, @likelihood, @impact, @owner, @status, @notes, @created_at, @updated_at)`),
    update: db.prepare(
      'UPDATE risks SET title = @title, likelihood = @likelihood, impact = @impact, owner = @owner, status = @status, notes = @notes, updated_at = @updated_at WHERE id = @id',
    ),
    measure: db.prepare('UPDATE risks SET measured_success = ?, measured_at = ?, evaluation_digest = ?, updated_at = ? WHERE id = ?'),
  };

  function find(idOrThreatId: string): Risk | undefined {
    const row = (q.byId.get(idOrThreatId) ?? q.byThreat.get(idOrThreatId)) as RiskRow | undefined;
    return row ? toRisk(row) : undefined;
  }

  function get(id: string): Risk {
    const risk = find(id);
    if (risk) return risk;
    throw new RegistryError(
      'E_RISK_NOT_FOUND',
      `No risk '${id}' (by risk id or threat id) in ${ctx.dir}; list them with 'rampart risk ls'.`,
      { details: { id } },
    );
  }

  function add(input: RiskInput): Risk {
    const title = checkText('title', input.title);
    const owner = checkText('owner', input.owner);
    const likelihood = checkScore('likelihood', input.likelihood);
    const impact = checkScore('impact', input.impact);
    const status = checkStatus(input.status ?? 'open');
    const threatId = input.threatId === undefined ? null : checkText('threatId', input.threatId);
    return ctx.tx(() => {
      if (threatId !== null && q.byThreat.get(threatId)) {
        throw new RegistryError(
          'E_RISK_DUPLICATE_THREAT',
          `Threat '${threatId}' already has a risk (${(q.byThreat.get(threatId) as RiskRow).id}); update that one instead.`,
          { details: { threatId } },
        );
      }
      const seq = (q.nextSeq.get() as { n: number }).n;
      const id = `RISK-${String(seq).padStart(4, '0')}`;
      const now = ctx.now();
      q.insert.run({
        id,
        seq,
        threat_id: threatId,
        title,
        likelihood,
        impact,
        owner,
        status,
        notes: input.notes ?? null,
        created_at: now,
        updated_at: now,
      });
      audit.append({ action: 'risk.add', subject: id, details: { threatId, title, likelihood, impact, owner, status } });
      return get(id);
    });
  }

  return {
    add,
    get,
    find,

    update(id: string, patch: RiskPatch): Risk {
      return ctx.tx(() => {
        const before = get(id);
        const next = {
          title: patch.title === undefined ? before.title : checkText('title', patch.title),
          likelihood: patch.likelihood === undefined ? before.likelihood : checkScore('likelihood', patch.likelihood),
          impact: patch.impact === undefined ? before.impact : checkScore('impact', patch.impact),
          owner: patch.owner === undefined ? before.owner : checkText('owner', patch.owner),
          status: patch.status === undefined ? before.status : checkStatus(patch.status),
          notes: patch.notes === undefined ? before.notes : patch.notes,
        };
        const changes: Record<string, { from: Json; to: Json }> = {};
        for (const key of Object.keys(next) as Array<keyof typeof next>) {
          if (next[key] !== before[key]) changes[key] = { from: before[key], to: next[key] };
        }
        if (Object.keys(changes).length === 0) return before;
        q.update.run({ ...next, id: before.id, updated_at: ctx.now() });
        const after = get(before.id);
        audit.append({
          action: 'risk.update',
          subject: before.id,
          details: { changes, reason: patch.reason ?? null, residualScore: after.residualScore, residualBand: after.residualBand },
        });
        return after;
      });
    },

    list(options = {}): Risk[] {
      const rows = (
        options.status === undefined
          ? db.prepare('SELECT * FROM risks ORDER BY seq').all()
          : db.prepare('SELECT * FROM risks WHERE status = ? ORDER BY seq').all(checkStatus(options.status))
      ) as RiskRow[];
      return rows.map(toRisk);
    },

    syncFromThreats(threats: readonly ThreatLike[], defaults = {}): { created: Risk[]; existing: Risk[] } {
      return ctx.tx(() => {
        const created: Risk[] = [];
        const existing: Risk[] = [];
        for (const t of threats) {
          const id = checkText('threatId', t?.id);
          const found = q.byThreat.get(id) as RiskRow | undefined;
          if (found) {
            existing.push(toRisk(found));
            continue;
          }
          created.push(
            add({
              threatId: id,
              title: t.title ?? t.description ?? `Adversarial threat ${id}`,
              likelihood: t.likelihood ?? DEFAULT_SCORE,
              impact: t.impact ?? DEFAULT_SCORE,
              owner: t.owner ?? defaults.owner ?? 'unassigned',
              status: 'open',
            }),
          );
        }
        return { created, existing };
      });
    },

    recordMeasurement(threatId: string, attackSuccessRate: number, options = {}): Risk {
      if (typeof attackSuccessRate !== 'number' || !(attackSuccessRate >= 0 && attackSuccessRate <= 1)) {
        throw new RegistryError(
          'E_RISK_INPUT',
          `A measured attack success rate must be a number in [0, 1]; got ${JSON.stringify(attackSuccessRate)} for threat '${threatId}'.`,
          {
            details: { threatId, attackSuccessRate },
          },
        );
      }
      return ctx.tx(() => {
        const row = q.byThreat.get(threatId) as RiskRow | undefined;
        if (!row) {
          throw new RegistryError(
            'E_RISK_NOT_FOUND',
            `No risk stands for threat '${threatId}'; create it first with syncFromThreats(plan threats) or 'rampart risk add --threat ${threatId}'.`,
            { details: { threatId } },
          );
        }
        const evaluationDigest = options.evaluationDigest === undefined ? null : registry.get(options.evaluationDigest).digest;
        const before = toRisk(row);
        q.measure.run(attackSuccessRate, ctx.now(), evaluationDigest, ctx.now(), row.id);
        const after = get(row.id);
        audit.append({
          action: 'risk.measure',
          subject: row.id,
          details: {
            threatId,
            attackSuccessRate,
            evaluationDigest,
            residualScore: after.residualScore,
            residualBand: after.residualBand,
            previousResidual: before.residualScore,
          },
        });
        return after;
      });
    },
  };
}
