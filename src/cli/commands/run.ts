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

/** The run's summary on stdout. */
export function printRunSummary(result: RunPlanResult): void {
  const b = result.baseline.evaluation.results;
  const h = result.hardened.evaluation.results;
  const threats = Object.keys(h.robustAccuracy);
  const width = Math.max(12, ...threats.map((t) => t.length + 2));
  say('');
  say(`${'metric'.padEnd(width)}${'baseline'.padStart(10)}${'hardened'.padStart(10)}`);
  say(`${'clean'.padEnd(width)}${percent(b.cleanAccuracy).padStart(10)}${percent(h.cleanAccuracy).padStart(10)}`);
  for (const t of threats)
    say(`${t.padEnd(width)}${percent(b.robustAccuracy[t] ?? 0).padStart(10)}${percent(h.robustAccuracy[t] ?? 0).padStart(10)}`);
  if (h.ece !== undefined) say(`${'ECE'.padEnd(width)}${(b.ece?.toFixed(4) ?? '–').padStart(10)}${h.ece.toFixed(4).padStart(10)}`);
  if (h.latencyP99Ms !== undefined)
    say(`${'p99 ms'.padEnd(width)}${(b.latencyP99Ms?.toFixed(2) ?? '–').padStart(10)}${h.latencyP99Ms.toFixed(2).padStart(10)}`);
  say('');
  say(
    `gate: ${result.gate.passed ? 'PASSED' : 'FAILED'} (${result.gate.checks.filter((c) => c.passed).length}/${result.gate.checks.length} checks)`,
  );
  for (const c of result.gate.checks.filter((x) => x.status !== 'passed'))
    say(`  ${c.status === 'skipped' ? 'skipped' : 'FAILED '} ${c.id}: ${c.message}`);
  const ran = result.stages.filter((s) => s.status === 'ran').length;
  say(`stages: ${ran} ran, ${result.stages.length - ran} cached`);
  say(`report: ${result.files.report}\nresults: ${result.files.results}\njunit: ${result.files.junit}\nmarkdown: ${result.files.markdown}`);
  if (result.governance)
    say(
      `registry: ${result.governance.governanceDir} (hardened model ${result.governance.models.hardened.slice(0, 12)}${result.governance.vulnerabilities.length > 0 ? `, filed ${result.governance.vulnerabilities.join(', ')}` : ''})`,
    );
}

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description(
      'Run a robustness plan (rampart.yaml): data, baseline, attack evaluation, adversarial training, evaluation, gate, report. Unchanged stages are cached; a killed run resumes. Exit 1 when the gate fails.',
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
