/**
 * bench:text's printed tables: the operating point per seed and its median over seeds, the
 * char-CNN's query cost against the n-gram filter's (issue 26 allows 5x), then the frontier
 * (under each FPR budget, the lowest threshold within it) per seed and its median.
 */
import { formatTable, percent } from '../src/report/table.js';
import type { TextThreatModel } from '../src/threats/text-threat.js';
import type { FilterName } from './text-filters.js';
import type { BudgetPoint, CleanAt, PointAttack } from './text-operating-points.js';

export type Attacks = Record<string, PointAttack>;
export interface FilterRow {
  seed: number;
  model: FilterName;
  /** The operating point under `--fpr-budget`, as deployed. */
  threshold: number;
  withinBudget: boolean;
  validationFpr: number;
  clean: CleanAt;
  trainSeconds: number;
  /** Evasion at the operating point per threat (from the traced runs). */
  attacks: (PointAttack & { threat: string })[];
  /** The threshold the traced runs attacked (the lowest budget's), their seconds and final raw scores. */
  attackedAt: number;
  runs: { threat: string; seconds: number; queries: number; finalScores: number[] }[];
  /** Per FPR budget: the operating point, its clean metrics and the evasion there. */
  frontier: (BudgetPoint & { attacks: Attacks })[];
  /** Every candidate threshold at or above `attackedAt`: test ham FPR and evasion. */
  curve: { threshold: number; falsePositiveRate: number; f1: number; success: Record<string, number> }[];
}

/** Median (the mean of the middle two for an even count; 0 for none): three seeds, one odd one does not move it. */
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? 0 : s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const f1 = (x: number): string => (x * 100).toFixed(2);
const evadedCell = (a: PointAttack | undefined): string => (a ? `${percent(a.successRate)} (${a.evaded}/${a.attacked})` : '-');

/** Prints the tables (plain text, column-aligned). */
export function printTables(
  rows: readonly FilterRow[],
  ctx: { threats: readonly TextThreatModel[]; seeds: readonly number[]; wanted: readonly FilterName[]; limit: number; maxQueries: number },
): void {
  const { threats, seeds, wanted } = ctx;
  const perThreat = (attacks: (threat: string) => PointAttack | undefined): string[] =>
    threats.flatMap((t) => {
      const a = attacks(t.id);
      return [evadedCell(a), a ? a.queriesPerText.toFixed(0) : '-', a ? a.secondsPerText.toFixed(2) : '-'];
    });
  const headers = (first: string[]): string[] => [...first, ...threats.flatMap((t) => [`${t.id} evaded`, 'q/msg', 's/msg'])];
  console.log(
    `\nOperating point per seed: greedy search, all families, ${ctx.limit} spam test messages, ${ctx.maxQueries} queries; lower evaded is better\n`,
  );
  console.log(
    formatTable(
      headers(['seed', 'model', 'spam at', 'clean F1', 'ham FPR']),
      rows.map((r) => [
        r.seed,
        r.model,
        r.threshold,
        f1(r.clean.f1),
        percent(r.clean.falsePositiveRate),
        ...perThreat((id) => r.attacks.find((a) => a.threat === id)),
      ]),
    ),
  );
  console.log(`\nMedian over seeds ${seeds.join(', ')} (per seed in brackets)\n`);
  console.log(
    formatTable(
      ['model', 'clean F1', 'ham FPR', ...threats.flatMap((t) => [`${t.id} evaded`, 'q/msg'])],
      wanted.map((name) => {
        const mine = rows.filter((r) => r.model === name);
        return [
          name,
          f1(median(mine.map((r) => r.clean.f1))),
          percent(median(mine.map((r) => r.clean.falsePositiveRate))),
          ...threats.flatMap((_, k) => [
            `${percent(median(mine.map((r) => r.attacks[k]?.successRate ?? 0)))} (${mine.map((r) => percent(r.attacks[k]?.successRate ?? 0)).join(' / ')})`,
            median(mine.map((r) => r.attacks[k]?.queriesPerText ?? 0)).toFixed(0),
          ]),
        ];
      }),
    ),
  );
  printQueryCost(rows, threats, seeds);
  console.log('\nFrontier per seed: under each ham FPR budget the lowest threshold within it on validation (FPR and F1 on test)\n');
  console.log(
    formatTable(
      headers(['seed', 'model', 'budget', 'spam at', 'clean F1', 'ham FPR']),
      rows.flatMap((r) =>
        r.frontier.map((p, k) => [
          k === 0 ? r.seed : '',
          k === 0 ? r.model : '',
          percent(p.budget),
          p.threshold,
          f1(p.clean.f1),
          percent(p.clean.falsePositiveRate),
          ...perThreat((id) => p.attacks[id]),
        ]),
      ),
    ),
  );
  console.log(`\nFrontier, median over seeds ${seeds.join(', ')} (evaded per seed in brackets)\n`);
  const budgets = rows[0]?.frontier.map((p) => p.budget) ?? [];
  console.log(
    formatTable(
      ['model', 'budget', 'spam at', 'clean F1', 'ham FPR', ...threats.map((t) => `${t.id} evaded`)],
      wanted.flatMap((name) => {
        const mine = rows.filter((r) => r.model === name);
        return budgets.map((b, k) => {
          const at = mine.map((r) => r.frontier[k]).filter((p): p is FilterRow['frontier'][number] => p !== undefined);
          return [
            k === 0 ? name : '',
            percent(b),
            at.map((p) => p.threshold).join(' / '),
            f1(median(at.map((p) => p.clean.f1))),
            percent(median(at.map((p) => p.clean.falsePositiveRate))),
            ...threats.map((t) => {
              const rates = at.map((p) => p.attacks[t.id]?.successRate ?? 0);
              return `${percent(median(rates))}${rates.length > 1 ? ` (${rates.map(percent).join(' / ')})` : ''}`;
            }),
          ];
        });
      }),
    ),
  );
}

/**
 * The char-CNN's attack cost against the n-gram filter's, per seed and threat at the
 * operating points: queries per attacked message (the issue's measure, limit 5x) and
 * seconds per query (the model's own cost per query, from the runs).
 */
function printQueryCost(rows: readonly FilterRow[], threats: readonly TextThreatModel[], seeds: readonly number[]): void {
  const pairs = seeds.flatMap((seed) => {
    const cnn = rows.find((r) => r.seed === seed && r.model === 'cnn');
    const ngram = rows.find((r) => r.seed === seed && r.model === 'ngram');
    return cnn && ngram ? [{ seed, cnn, ngram }] : [];
  });
  if (pairs.length === 0) return;
  const perQuery = (r: FilterRow, threat: string): number => {
    const run = r.runs.find((x) => x.threat === threat);
    return run && run.queries > 0 ? run.seconds / run.queries : 0;
  };
  const cells = (p: (typeof pairs)[number]): number[] =>
    threats.flatMap((t, k) => {
      const q = (r: FilterRow): number => r.attacks[k]?.queriesPerText ?? 0;
      const s = perQuery(p.ngram, t.id);
      return [q(p.ngram) > 0 ? q(p.cnn) / q(p.ngram) : 0, s > 0 ? perQuery(p.cnn, t.id) / s : 0];
    });
  console.log('\nQuery cost of the char-CNN relative to the n-gram filter (issue 26: at most 5x queries per message)\n');
  const all = pairs.map(cells);
  console.log(
    formatTable(
      ['seed', ...threats.flatMap((t) => [`${t.id} q/msg ratio`, 's/query ratio'])],
      [
        ...pairs.map((p, i) => [p.seed, ...(all[i] as number[]).map((x) => `${x.toFixed(2)}x`)]),
        ['median', ...(all[0] as number[]).map((_, j) => `${median(all.map((c) => c[j] as number)).toFixed(2)}x`)],
      ],
    ),
  );
}
