/**
 * `rampart review`: the human in the loop. `ls` shows the queue (captured requests, broken
 * canary probes, borderline evaluation examples), `show` one item with its input,
 * `decide` records a verdict with the reviewer and reason in the audit log, and `import`
 * queues an evaluation's saved examples.
 */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { buildAdversarialSet } from '../../governance/adversarial-set.js';
import {
  CAPTURE_SOURCES,
  REVIEW_STATUSES,
  decideReview,
  importEvaluationExamples,
  listReview,
  showReview,
  type CaptureRecord,
  type CaptureSource,
  type ReviewStatus,
} from '../../governance/index.js';
import { formatTable } from '../../report/table.js';
import { wholeNumber } from '../parse.js';
import { say } from '../output.js';
import { addGovernanceFlags, printJson, withGovernance, type GovernanceFlags } from './registry.js';

const layersOf = (c: CaptureRecord): string =>
  c.decisions
    .filter((d) => d.decision !== 'pass')
    .map((d) => `${d.layer}:${d.decision}`)
    .join(' ') || '-';

/** An ASCII sketch of a small grey image, so a reviewer at a terminal can see the digit. */
function sketch(x: Float32Array, shape: number[]): string[] {
  const [h = 0, w = 0] = shape;
  if (h > 64 || w > 64 || h * w * (shape[2] ?? 1) !== x.length) return [`(${shape.join('×')} input; use --json for the values)`];
  const ramp = ' .:-=+*#%@';
  const c = shape[2] ?? 1;
  const lines: string[] = [];
  for (let i = 0; i < h; i++) {
    let line = '';
    for (let j = 0; j < w; j++) line += ramp[Math.min(9, Math.max(0, Math.floor((x[(i * w + j) * c] ?? 0) * 9.999)))];
    lines.push(line);
  }
  return lines;
}

export function registerReview(program: Command): void {
  const review = program.command('review').description('Review captured and borderline examples: confirm attacks, mark benign, relabel.');

  addGovernanceFlags(
    review
      .command('ls')
      .description('List the review queue (pending items, oldest first).')
      .addOption(new Option('--status <status>', 'pending, attack, benign or relabel').choices(REVIEW_STATUSES).default('pending'))
      .addOption(new Option('--source <source>', 'flag, deny, canary or evaluation').choices(CAPTURE_SOURCES))
      .option('--limit <n>', 'at most N items', wholeNumber('--limit', 1), 50),
  ).action((flags: GovernanceFlags & { status: ReviewStatus; source?: CaptureSource; limit: number }) =>
    withGovernance(flags, true, (gov) => {
      const items = listReview(gov, { status: flags.status, ...(flags.source ? { source: flags.source } : {}), limit: flags.limit });
      if (flags.json) return printJson(items);
      const stats = gov.captures.stats();
      if (items.length === 0) return say(`no ${flags.status} items (${stats.items} captured in all, ${stats.evicted} evicted)`);
      say(
        formatTable(
          ['id', 'source', 'at', 'model', 'client', 'predicted', 'label', 'layers'],
          items.map((c) => [
            c.id,
            c.source,
            c.at,
            c.model.slice(0, 12),
            c.client,
            String(c.predicted ?? '-'),
            String(c.review.trueLabel ?? c.label ?? '-'),
            layersOf(c),
          ]),
        ),
      );
    }),
  );

  addGovernanceFlags(review.command('show').description('Show one item with its input and decisions.').argument('<id>', 'cap_…')).action(
    (id: string, flags: GovernanceFlags) =>
      withGovernance(flags, true, (gov) => {
        const { item, input } = showReview(gov, id);
        if (flags.json) return printJson({ item, input: input.kind === 'image' ? { ...input, x: Array.from(input.x) } : input });
        say(`${item.id}  ${item.source} at ${item.at} by ${item.client}, model ${item.model}`);
        say(`predicted ${item.predicted ?? '-'}; known label ${item.label ?? '-'}; threat ${item.threat ?? '-'}; layers ${layersOf(item)}`);
        say(`review: ${item.review.status}${item.review.reviewer ? ` by ${item.review.reviewer}: ${item.review.reason}` : ''}`);
        if (input.kind === 'text') say(`text${item.redacted ? ' (redacted)' : ''}: ${input.text}`);
        else for (const line of sketch(input.x, input.shape)) say(`  ${line}`);
      }),
  );

  addGovernanceFlags(
    review
      .command('decide')
      .description('Record a verdict: attack (with the true label), benign, or relabel (with the right label).')
      .argument('<id>', 'cap_…')
      .addOption(
        new Option('--verdict <verdict>', 'attack, benign or relabel').choices(['attack', 'benign', 'relabel']).makeOptionMandatory(),
      )
      .option('--label <n>', 'the true label', wholeNumber('--label'))
      .requiredOption('--reason <text>', 'why (kept in the audit log)'),
  ).action((id: string, flags: GovernanceFlags & { verdict: string; label?: number; reason: string }) =>
    withGovernance(flags, true, (gov) => {
      const decided = decideReview(
        gov,
        id,
        { verdict: flags.verdict, ...(flags.label !== undefined ? { label: flags.label } : {}), reason: flags.reason },
        gov.actor,
      );
      if (flags.json) return printJson(decided);
      say(
        `${decided.id}: ${decided.review.status}${decided.review.trueLabel === null ? '' : ` (label ${decided.review.trueLabel})`} by ${gov.actor}`,
      );
    }),
  );

  addGovernanceFlags(
    review
      .command('build-set')
      .description('Register the confirmed attacks (attack or relabel verdicts) as a versioned adversarial-set artifact.')
      .argument('<name>', 'the set name, e.g. mnist-confirmed')
      .option('--since <iso>', 'only items decided after this time')
      .option('--ids <ids>', 'comma-separated capture ids instead of every confirmed item'),
  ).action((name: string, flags: GovernanceFlags & { since?: string; ids?: string }) =>
    withGovernance(flags, true, (gov) => {
      const built = buildAdversarialSet(gov, {
        name,
        ...(flags.since ? { decidedAfter: flags.since } : {}),
        ...(flags.ids ? { ids: flags.ids.split(',').map((s) => s.trim()) } : {}),
      });
      if (flags.json)
        return printJson({
          digest: built.artifact.digest,
          version: built.version,
          count: built.set.items.length,
          existed: built.artifact.existed,
        });
      say(
        `${built.artifact.existed ? 'unchanged' : 'registered'} adversarial set ${name} v${built.version}: ${built.set.items.length} examples, ${built.artifact.digest}`,
      );
    }),
  );

  addGovernanceFlags(
    review
      .command('import')
      .description("Queue an evaluation's saved adversarial examples that sit near the boundary (examples.json, text-examples.json).")
      .argument('<file>', 'examples.json')
      .option('--evaluation <digest>', 'the evaluation artifact they belong to (kept as their provenance)')
      .option('--classes <names>', "comma-separated class names, to map a text set's label names to indices")
      .option('--all', 'queue every example, not only those near the boundary'),
  ).action(async (file: string, flags: GovernanceFlags & { evaluation?: string; classes?: string; all?: boolean }) => {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(file, 'utf8'));
    } catch (cause) {
      throw new UsageError('E_REVIEW_IMPORT', `Cannot read ${file} as JSON (${cause instanceof Error ? cause.message : String(cause)}).`);
    }
    await withGovernance(flags, true, (gov) => {
      const evaluation = flags.evaluation ? gov.registry.get(flags.evaluation).digest : undefined;
      const r = importEvaluationExamples(gov, value, {
        ...(evaluation ? { evaluation } : {}),
        ...(flags.classes ? { classes: flags.classes.split(',').map((c) => c.trim()) } : {}),
        borderlineOnly: !flags.all,
      });
      if (flags.json) return printJson(r);
      say(`queued ${r.written} examples for review${r.skipped ? ` (${r.skipped} skipped)` : ''}`);
    });
  });
}
