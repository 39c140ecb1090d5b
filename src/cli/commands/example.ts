/** `rampart example`: the small MNIST demo end to end (train, attack, table); `npm start` runs the bundled plan instead. */
import type { Command } from 'commander';
import { runMnistExample } from '../../pipeline/mnist-example.js';
import { parseEpsilons } from '../../threats/threat-model.js';
import { robustnessText } from '../../report/robustness-table.js';
import { percent } from '../../report/table.js';
import { createProgress } from '../progress.js';
import { wholeNumber } from '../parse.js';
import { say } from '../output.js';
import { addEngineFlags, addWorkersFlag, withPool } from './shared.js';
import { initEngine } from '../../engine/backend.js';

interface ExampleFlags {
  out: string;
  seed: number;
  epochs: number;
  evalLimit?: number;
  epsilons: string;
  steps: number;
  backend?: string;
  workers?: number;
  quiet?: boolean;
}

export function registerExample(program: Command): void {
  const command = program
    .command('example')
    .description(
      'Train the CNN on the bundled MNIST digits, evaluate it clean and under FGSM and PGD-40, print a table and write runs/example/report.json.',
    )
    .option('--out <dir>', 'run directory', 'runs/example')
    .option('--seed <n>', 'seed for the split, the weights and the attacks', wholeNumber('--seed'), 1)
    .option('--epochs <n>', 'training epochs', wholeNumber('--epochs', 1), 8)
    .option('--eval-limit <n>', 'evaluate on only the first N test examples', wholeNumber('--eval-limit', 1))
    .option('--epsilons <list>', 'L∞ budgets to attack at', '0.1,0.2,0.3')
    .option('--steps <n>', 'PGD steps', wholeNumber('--steps', 1), 40);
  addWorkersFlag(addEngineFlags(command)).action(async (flags: ExampleFlags) => {
    const epsilons = parseEpsilons(flags.epsilons);
    const quiet = flags.quiet === true;
    const trainBar = createProgress('train', { quiet });
    const evalBar = createProgress('eval', { quiet });
    const started = Date.now();
    const engine = await initEngine(flags.backend === undefined ? {} : { backend: flags.backend });
    const result = await withPool(flags.workers, engine.backend, (pool) =>
      runMnistExample({
        pool,
        outDir: flags.out,
        seed: flags.seed,
        epochs: flags.epochs,
        epsilons,
        pgdSteps: flags.steps,
        ...(flags.evalLimit === undefined ? {} : { evalLimit: flags.evalLimit }),
        ...(flags.backend === undefined ? {} : { backend: flags.backend }),
        onBatch: (p) =>
          trainBar.update(
            (p.epoch - 1) * p.batches + p.batch,
            p.epochs * p.batches,
            `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}`,
          ),
        onEpoch: (e) => {
          if (!quiet)
            process.stderr.write(
              `epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, validation accuracy ${percent(e.validationAccuracy ?? 0)}, ${(e.durationMs / 1000).toFixed(1)}s\n`,
            );
        },
        onEvalProgress: (p) => {
          trainBar.stop();
          evalBar.update(p.done, p.total, p.attack ? `${p.attack} eps ${p.epsilon}` : p.stage);
        },
      }),
    );
    evalBar.stop();
    say(
      `\nCNN test accuracy ${percent(result.training.testAccuracy)} after ${result.training.training.epochs.length} epochs (${(result.training.training.durationMs / 1000).toFixed(0)} s)\n`,
    );
    say(robustnessText(result.evaluation));
    say(
      `\nreport: ${result.reportPath}\nmarkdown: ${result.markdownPath}\nmodel: ${result.training.modelDir}\ntotal time ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  });
}
