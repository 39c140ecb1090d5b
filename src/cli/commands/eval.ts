/** `rampart eval`: clean and robust accuracy of a saved model over attacks and epsilons. */
import type { Command } from 'commander';
import { writeJsonFile, writeTextFile } from '../../core/files.js';
import { initEngine } from '../../engine/backend.js';
import { evaluateRobustness, type RobustnessReport } from '../../eval/robustness.js';
import { createAttack } from '../../attacks/registry.js';
import { NORM_IDS, getNorm } from '../../threats/norms.js';
import { parseEpsilons } from '../../threats/threat-model.js';
import { robustnessMarkdown, robustnessText } from '../../report/robustness-table.js';
import { parseSuiteSpec, runSuite, type SuiteReport } from '../../eval/suite.js';
import { suiteMarkdown, suiteText } from '../../report/suite-table.js';
import { createProgress } from '../progress.js';
import { commaList, wholeNumber } from '../parse.js';
import { say } from '../output.js';
import { addAttackFlags, addDataFlags, addEngineFlags, attackList, attackOptionsFromFlags, loadModelAndData, withPool, addWorkersFlag, type AttackFlags, type DataFlags } from './shared.js';

interface EvalFlags extends DataFlags, AttackFlags {
  model?: string;
  attacks: string;
  norm: string;
  epsilons: string;
  batchSize: number;
  seed: number;
  out?: string;
  markdown?: string;
  suite?: string;
  backend?: string;
  workers?: number;
  quiet?: boolean;
}

export function registerEval(program: Command): void {
  const command = program
    .command('eval')
    .description('Evaluate a saved model: clean accuracy, then each attack at each epsilon and the per-example worst case over attacks.')
    .option('--model <dir>', 'model directory (model.json + weights.bin)')
    .option('--attacks <ids>', `comma-separated attack ids: ${attackList()}`, 'fgsm,pgd')
    .option('--norm <id>', `threat norm: ${NORM_IDS.join(', ')}`, 'linf')
    .option('--epsilons <list>', 'comma-separated budgets', '0,0.1,0.2,0.3')
    .option('--batch-size <n>', 'examples per attack batch', wholeNumber('--batch-size', 1), 256)
    .option('--seed <n>', 'seed for random starts', wholeNumber('--seed'), 0)
    .option('--out <file>', 'write the JSON report here')
    .option('--markdown <file>', 'write a Markdown summary here')
    .option('--suite <id>', "run an evaluation suite: 'standard' (APGD-CE, APGD-T, FAB-T, Square; AutoAttack budgets) or 'standard:quick'; with --suite, --attacks runs only when given");
  addWorkersFlag(addEngineFlags(addDataFlags(addAttackFlags(command)))).action(async (flags: EvalFlags) => {
    const suite = flags.suite === undefined ? undefined : parseSuiteSpec(flags.suite);
    // With a suite, the per-attack table is opt-in: only when --attacks is on the command line.
    const runAttacks = suite === undefined || command.getOptionValueSource('attacks') === 'cli';
    const ids = runAttacks ? commaList(flags.attacks) : [];
    const attacks = ids.map((id) => ({ id, options: attackOptionsFromFlags(id, flags) }));
    attacks.forEach((a) => createAttack(a.id, a.options));
    const norm = getNorm(flags.norm).id;
    const epsilons = parseEpsilons(flags.epsilons);
    const engine = await initEngine(flags.backend === undefined ? {} : { backend: flags.backend });
    const { stored, data } = await loadModelAndData(flags.model, flags);
    const bar = createProgress('eval', { quiet: flags.quiet === true });
    const { report, suiteReport } = await withPool(flags.workers, engine.backend, async (pool) => {
      const robustness: RobustnessReport | undefined = runAttacks
        ? await evaluateRobustness({
            pool,
            model: stored.classifier,
            data: data.selected,
            norm,
            epsilons,
            attacks,
            batchSize: flags.batchSize,
            seed: flags.seed,
            onProgress: (p) => bar.update(p.done, p.total, p.attack ? `${p.attack} eps ${p.epsilon}` : p.stage),
          })
        : undefined;
      const suiteResult: SuiteReport | undefined = suite
        ? await runSuite({
            pool,
            model: stored.classifier,
            data: data.selected,
            norm,
            epsilons,
            suite,
            batchSize: flags.batchSize,
            seed: flags.seed,
            onProgress: (p) => bar.update(p.done, p.total, `${suite.id} ${p.stage} eps ${p.epsilon}`),
          })
        : undefined;
      return { report: robustness, suiteReport: suiteResult };
    });
    bar.stop();
    if (report) say(robustnessText(report));
    if (suiteReport) say(`${report ? '\n' : ''}${suiteText(suiteReport)}`);
    if (flags.out) {
      // One JSON file: the robustness report carrying the suite under `suite`, or the suite report alone.
      await writeJsonFile(flags.out, report ? { ...report, ...(suiteReport ? { suite: suiteReport } : {}) } : suiteReport);
      say(`\nreport: ${flags.out}`);
    }
    if (flags.markdown) {
      const sections = [report ? robustnessMarkdown(report) : '', suiteReport ? `## Suite ${suiteReport.suite.id} v${suiteReport.suite.version}\n\n${suiteMarkdown(suiteReport)}` : ''].filter((t) => t.length > 0);
      await writeTextFile(flags.markdown, `# Robustness report\n\n${sections.join('\n\n')}\n`);
      say(`markdown: ${flags.markdown}`);
    }
  });
}
