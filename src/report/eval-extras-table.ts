/**
 * Human-readable views of what `rampart eval --suite` reports next to the suite table:
 * the suite against PGD alone, the gradient-masking checks, calibration before and after
 * temperature scaling, certified accuracy from randomized smoothing, and latency. The
 * same sections as plain text for the terminal and as Markdown; the JSON is the data
 * itself (`EvalExtras`).
 */
import type { CalibrationMetrics } from '../eval/calibration.js';
import type { MaskingReport } from '../eval/masking/index.js';
import type { CertifiedAccuracyReport } from '../eval/smoothing.js';
import type { LatencyReport } from '../eval/latency.js';
import type { CalibrationSection, EvalExtras, SuiteVsPgd } from '../eval/trust.js';
export type { CalibrationPair, CalibrationSection, EvalExtras, SuiteVsPgd } from '../eval/trust.js';
import { formatTable, markdownTable, percent, type Cell } from './table.js';

interface Section {
  /** Short name: the Markdown heading and the start of the terminal title. */
  heading: string;
  /** The settings the numbers depend on, after the heading. */
  detail: string;
  /** Lines under the title, before the table. */
  notes: string[];
  table?: { headers: string[]; rows: Cell[][] };
  /** The terminal's view of the rows when a grid would be too wide. */
  text?: string;
  /** Lines after the table. */
  after?: string[];
}

const ms = (v: number): string => v.toFixed(2);
const num = (v: number): string => v.toFixed(4);
const temp = (t: number): string => String(Number(t.toPrecision(4)));

function suiteVsPgdSection(c: SuiteVsPgd): Section {
  const rows: Cell[][] = c.results.map((r) => [
    String(r.epsilon),
    percent(r.pgdRobustAccuracy),
    percent(r.suiteRobustAccuracy),
    r.suiteNoHigher ? 'yes' : 'NO',
  ]);
  const verdict = c.suiteNoHigher
    ? 'the suite is no higher than PGD alone at every epsilon, as a stronger evaluation must be.'
    : 'WARNING: the suite reports a HIGHER robust accuracy than PGD alone where marked NO: it missed breaks PGD found, so its number is not an upper bound here. Trust the lower of the two, and report this.';
  return {
    heading: 'suite vs PGD alone',
    detail: `${c.norm}, same examples`,
    notes: [
      `PGD: ${JSON.stringify(c.pgd.config)} (${c.source === 'attacks-table' ? 'from the per-attack table' : 'run for this comparison'})`,
    ],
    table: { headers: ['epsilon', 'PGD robust acc', 'suite robust acc', 'suite ≤ PGD'], rows },
    after: [verdict],
  };
}

function maskingSection(m: MaskingReport): Section {
  const skipped = m.skipped.map((s) => `skipped ${s.id}: ${s.reason}`);
  return {
    heading: 'gradient-masking checks',
    detail: `${m.threat.norm} ε=${m.threat.epsilon}, ${m.examples} clean-correct examples, PGD ${m.config.pgdSteps} steps, black box ${m.config.blackBox}, ${(m.durationMs / 1000).toFixed(1)}s`,
    notes: [`verdict ${m.status.toUpperCase()}: ${m.summary.pass} pass, ${m.summary.warn} warn, ${m.summary.fail} fail`],
    table: { headers: ['check', 'status', 'explanation'], rows: m.checks.map((c) => [c.id, c.status, c.explanation]) },
    // One check per paragraph: the explanations are too long for a terminal grid.
    text: m.checks.map((c) => `[${c.status}] ${c.id}: ${c.explanation}`).join('\n'),
    after: skipped,
  };
}

function calibrationRows(c: CalibrationSection): Cell[][] {
  const t = `T=${temp(c.temperature.temperature)}`;
  const row = (inputs: string, m: CalibrationMetrics): Cell[] => [
    inputs,
    String(m.count),
    percent(m.accuracy),
    num(m.ece),
    num(m.eceEqualMass),
    num(m.mce),
    num(m.brier),
    num(m.nll),
  ];
  const rows = [row('clean, T=1', c.clean.before), row(`clean, ${t}`, c.clean.after)];
  if (c.adversarial) {
    const a = `${c.adversarial.attack.id} ε=${c.adversarial.threat.epsilon}`;
    rows.push(row(`${a}, T=1`, c.adversarial.before), row(`${a}, ${t}`, c.adversarial.after));
  }
  return rows;
}

function calibrationSection(c: CalibrationSection): Section {
  const f = c.temperature;
  const notes = [
    `temperature T = ${temp(f.temperature)} fitted by NLL on the ${f.fittedOn.split} split '${f.fittedOn.name}' (${f.fittedOn.count} examples): NLL ${num(f.nllBefore)} → ${num(f.nllAfter)}${f.atBoundary ? ' (at the edge of the search range)' : ''}`,
    `evaluated on '${c.clean.data.name}' (${c.clean.data.count} examples), ${c.bins} bins${f.savedWithModel === undefined ? '' : `; the model was saved with T = ${temp(f.savedWithModel)}, ignored in the T=1 rows`}`,
  ];
  if (f.overlapsEvaluatedData)
    notes.push('WARNING: the evaluated data overlaps the data T was fitted on, so the after-scaling numbers are optimistic.');
  if (c.adversarial)
    notes.push(
      `adversarial rows: ${c.adversarial.attack.id} at ${c.adversarial.threat.id} on the first ${c.adversarial.data.count} examples, crafted against the uncalibrated model`,
    );
  return {
    heading: 'calibration',
    detail: 'before/after temperature scaling',
    notes,
    table: { headers: ['inputs', 'examples', 'accuracy', 'ECE width', 'ECE mass', 'MCE', 'Brier', 'NLL'], rows: calibrationRows(c) },
  };
}

function certificationSection(r: CertifiedAccuracyReport): Section {
  const c = r.config;
  const beyond = r.curve.some((p) => p.radius > r.maxCertifiableRadius);
  const rows: Cell[][] = r.curve.map((p) => [
    String(p.radius),
    percent(p.certifiedAccuracy),
    String(p.count),
    p.radius > r.maxCertifiableRadius ? 'beyond what n can certify' : '',
  ]);
  return {
    heading: 'certified accuracy',
    detail: `randomized smoothing, L2 certificates, σ=${c.sigma}, n0=${c.n0}, n=${c.n}, α=${c.alpha}`,
    notes: [`the first ${r.data.count} examples of '${r.data.name}'`],
    table: { headers: ['L2 radius', 'certified acc', 'examples', 'note'], rows },
    after: [
      `with n=${c.n} at α=${c.alpha} no radius above σ·Φ⁻¹(α^(1/n)) = ${num(r.maxCertifiableRadius)} can be certified${beyond ? ': the rows marked beyond are 0 by construction; raise --n to measure them' : ''}`,
      `smoothed accuracy ${percent(r.smoothedAccuracy)}, abstained on ${percent(r.abstentionRate)}, median certified radius of correct examples ${num(r.medianRadiusCorrect)}, ${(r.durationMs / 1000).toFixed(1)}s`,
      `certificates hold for a base model accurate under N(0, σ²) noise; train one with 'rampart train --method noise --sigma ${c.sigma}'`,
    ],
  };
}

function latencySection(l: LatencyReport): Section {
  const rows: Cell[][] = l.series.flatMap((s) =>
    s.stats.map((st): Cell[] => [
      s.inputs,
      String(st.batchSize),
      ms(st.p50Ms),
      ms(st.p99Ms),
      ms(st.perExampleP50Ms),
      st.throughputPerSecond.toFixed(0),
    ]),
  );
  const what = l.config.attack ? `; adversarial inputs from ${l.config.attack} at ${l.config.threat ?? ''}` : '';
  return {
    heading: 'latency',
    detail: `${l.engine?.backend ?? 'unknown'} backend, ${l.config.repeats} timed runs after ${l.config.warmup} warm-up${what}`,
    notes: [],
    table: { headers: ['inputs', 'batch', 'p50 ms', 'p99 ms', 'p50 ms/example', 'examples/s'], rows },
  };
}

function sections(x: EvalExtras): Section[] {
  const out: Section[] = [];
  if (x.suiteVsPgd) out.push(suiteVsPgdSection(x.suiteVsPgd));
  if (x.masking) out.push(maskingSection(x.masking));
  else if (x.maskingSkipped) out.push({ heading: 'gradient-masking checks', detail: 'not run', notes: [x.maskingSkipped] });
  if (x.calibration) out.push(calibrationSection(x.calibration));
  if (x.certification) out.push(certificationSection(x.certification));
  if (x.latency) out.push(latencySection(x.latency));
  return out;
}

/** The extra sections for the terminal. */
export function evalExtrasText(extras: EvalExtras): string {
  return sections(extras)
    .map((s) => {
      const body = s.text ?? (s.table ? formatTable(s.table.headers, s.table.rows) : '');
      return [`${s.heading} (${s.detail})`, ...s.notes, ...(body ? ['', body] : []), ...(s.after ?? [])].join('\n');
    })
    .join('\n\n');
}

/** Markdown cells cannot hold a bare pipe. */
const escapeCell = (c: Cell): Cell => (typeof c === 'string' ? c.replace(/\|/g, '\\|') : c);

/** The extra sections as Markdown, each under a level-2 heading. */
export function evalExtrasMarkdown(extras: EvalExtras): string {
  return sections(extras)
    .map((s) => {
      const table = s.table
        ? markdownTable(
            s.table.headers,
            s.table.rows.map((r) => r.map(escapeCell)),
          )
        : '';
      // Two trailing spaces keep each note on its own line.
      return [
        `## ${s.heading.charAt(0).toUpperCase()}${s.heading.slice(1)}`,
        '',
        ...[`${s.detail}`, ...s.notes].map((l) => `${l}  `),
        ...(table ? ['', table] : []),
        ...(s.after && s.after.length > 0 ? ['', ...s.after.map((l) => `${l}  `)] : []),
      ].join('\n');
    })
    .join('\n\n');
}
