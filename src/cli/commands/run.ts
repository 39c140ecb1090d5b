/** `rampart run <plan.yaml>`: a robustness plan end to end as cached, resumable stages. */
import type { Command } from 'commander';
import { initEngine } from '../../engine/backend.js';
import { loadPlan } from '../../pipeline/plan/load.js';
import { loadResults } from '../../eval/results.js';
import { runPlan, type RunPlanResult } from '../../pipeline/run/run-plan.js';
import type { RunEvent } from '../../pipeline/run/types.js';
import { percent } from '../../report/table.js';
import { say } from '../output.js';
import { createProgress, type ProgressBar } from '../progress.js';
import { addEngineFlags, addQueueFlag, addWorkersFlag, withExecution } from './shared.js';

interface RunFlags {
  dir: string;
  force?: boolean;
  governance: boolean;
  baseline?: string;
  backend?: string;
  workers?: number;
  queue?: string;
  quiet?: boolean;
}

/** Draws one progress bar per running stage and a line per finished one. */
export function stageProgress(quiet: boolean): (event: RunEvent) => void {
  let bar: ProgressBar | undefined;
  return (event) => {
    if (quiet) return;
    if (event.type === 'stage-start') {
      bar = createProgress(`[${event.index + 1}/${event.count}] ${event.title}`);
    } else if (event.type === 'stage-progress') {
      bar?.update(event.done, event.total, event.label);
    } else if (event.type === 'stage-log') {
      process.stderr.write(`  ${event.line}\n`);
    } else {
      bar?.stop();
      bar = undefined;
      const how = event.status === 'cached' ? 'cached' : `${(event.durationMs / 1000).toFixed(1)} s`;
      process.stderr.write(`${event.status === 'cached' ? '•' : '✓'} [${event.index + 1}/${event.count}] ${event.title} (${how})\n`);
    }
  };
}

/** The run's summary on stdout: the baseline beside the candidate when Rampart trained one, else the candidate alone. */
export function printRunSummary(result: RunPlanResult): void {
  const b = result.baseline?.evaluation.results;
  const h = result.candidate.results;
  const threats = Object.keys(h.robustAccuracy);
  const width = Math.max(12, ...threats.map((t) => t.length + 2));
  const name = result.hardened ? 'hardened' : 'candidate';
  const row = (label: string, baseline: string | undefined, candidate: string): void =>
    say(`${label.padEnd(width)}${b ? (baseline ?? '–').padStart(10) : ''}${candidate.padStart(11)}`);
  say('');
  row('metric', 'baseline', name);
  row('clean', b ? percent(b.cleanAccuracy) : undefined, percent(h.cleanAccuracy));
  for (const t of threats) row(t, b ? percent(b.robustAccuracy[t] ?? 0) : undefined, percent(h.robustAccuracy[t] ?? 0));
  if (h.ece !== undefined) row('ECE', b?.ece?.toFixed(4), h.ece.toFixed(4));
  if (h.latencyP99Ms !== undefined) row('p99 ms', b?.latencyP99Ms?.toFixed(2), h.latencyP99Ms.toFixed(2));
  say('');
  say(
    `gate: ${result.gate.passed ? 'PASSED' : 'FAILED'} (${result.gate.checks.filter((c) => c.passed).length}/${result.gate.checks.length} checks)`,
  );
  for (const c of result.gate.checks.filter((x) => x.status !== 'passed'))
    say(`  ${c.status === 'skipped' ? 'skipped' : 'FAILED '} ${c.id}: ${c.message}`);
  const ran = result.stages.filter((s) => s.status === 'ran').length;
  say(`stages: ${ran} ran, ${result.stages.length - ran} cached`);
  say(`report: ${result.files.report}\nresults: ${result.files.results}\njunit: ${result.files.junit}\nmarkdown: ${result.files.markdown}`);
  const gov = result.governance;
  if (gov) {
    const models = Object.entries(gov.models)
      .filter(([role]) => role !== 'baseline')
      .map(([role, digest]) => `${role} model ${digest.slice(0, 12)}`)
      .join(', ');
    say(`registry: ${gov.governanceDir} (${models}${gov.vulnerabilities.length > 0 ? `, filed ${gov.vulnerabilities.join(', ')}` : ''})`);
  }
}

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description(
      'Run a robustness plan (rampart.yaml) for the channels it has: data, baseline, attack evaluation, adversarial training (or your model as is), text and tabular stages, evaluation, gate, report. Unchanged stages are cached; a killed run resumes. Exit 1 when the gate fails.',
    )
    .argument('<plan>', 'the plan file, e.g. examples/rampart.yaml')
    .option('--dir <dir>', 'where runs and the registry live', '.rampart')
    .option('--force', 'rerun every stage, ignoring the cache')
    .option('--no-governance', 'do not record artifacts, risks and vulnerabilities in the registry')
    .option('--baseline <results.json>', 'production results for the regression check (default: the registry model tagged production)');
  addQueueFlag(command);
  addWorkersFlag(addEngineFlags(command)).action(async (planPath: string, flags: RunFlags) => {
    const plan = await loadPlan(planPath);
    const production = flags.baseline === undefined ? undefined : await loadResults(flags.baseline);
    const engine = await initEngine(flags.backend === undefined ? {} : { backend: flags.backend });
    const started = Date.now();
    const result = await withExecution({ ...flags, queue: flags.queue ?? plan.execution?.queue }, engine.backend, (pool) =>
      runPlan(plan, {
        dir: flags.dir,
        pool,
        governance: flags.governance,
        ...(flags.force ? { force: true } : {}),
        ...(flags.backend === undefined ? {} : { backend: flags.backend }),
        ...(production ? { production } : {}),
        onEvent: stageProgress(flags.quiet === true),
      }),
    );
    printRunSummary(result);
    say(`total time ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (!result.gate.passed) process.exitCode = 1;
  });
}
