/** `rampart eval`: clean and robust accuracy of a saved model over attacks and epsilons. */
import type { Command } from 'commander';
import { writeJsonFile, writeTextFile } from '../../core/files.js';
import { initEngine } from '../../engine/backend.js';
import { evaluateRobustness } from '../../eval/robustness.js';
import { createAttack } from '../../attacks/registry.js';
import { NORM_IDS, getNorm } from '../../threats/norms.js';
import { parseEpsilons } from '../../threats/threat-model.js';
import { robustnessMarkdown, robustnessText } from '../../report/robustness-table.js';
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
    .option('--markdown <file>', 'write a Markdown summary here');
  addWorkersFlag(addEngineFlags(addDataFlags(addAttackFlags(command)))).action(async (flags: EvalFlags) => {
    const ids = commaList(flags.attacks);
    const attacks = ids.map((id) => ({ id, options: attackOptionsFromFlags(id, flags) }));
    attacks.forEach((a) => createAttack(a.id, a.options));
    const norm = getNorm(flags.norm).id;
    const epsilons = parseEpsilons(flags.epsilons);
    const engine = await initEngine(flags.backend === undefined ? {} : { backend: flags.backend });
    const { stored, data } = await loadModelAndData(flags.model, flags);
    const bar = createProgress('eval', { quiet: flags.quiet === true });
    const report = await withPool(flags.workers, engine.backend, (pool) => evaluateRobustness({
      pool,
      model: stored.classifier,
      data: data.selected,
      norm,
      epsilons,
      attacks,
      batchSize: flags.batchSize,
      seed: flags.seed,
      onProgress: (p) => bar.update(p.done, p.total, p.attack ? `${p.attack} eps ${p.epsilon}` : p.stage),
    }));
    bar.stop();
    say(robustnessText(report));
    if (flags.out) {
      await writeJsonFile(flags.out, report);
      say(`\nreport: ${flags.out}`);
    }
    if (flags.markdown) {
      await writeTextFile(flags.markdown, `# Robustness report\n\n${robustnessMarkdown(report)}\n`);
      say(`markdown: ${flags.markdown}`);
    }
  });
}
