/** `rampart attack`: run one attack on a model over a data subset and record every example. */
import type { Command } from 'commander';
import { createAttack } from '../../attacks/registry.js';
import { attackDataset } from '../../execution/attack-dataset.js';
import { writeJsonFile } from '../../core/files.js';
import { initEngine } from '../../engine/backend.js';
import { NORM_IDS } from '../../threats/norms.js';
import { threatModel } from '../../threats/threat-model.js';
import { percent } from '../../report/table.js';
import { createProgress } from '../progress.js';
import { wholeNumber } from '../parse.js';
import { say } from '../output.js';
import {
  addAttackFlags,
  addDataFlags,
  addEngineFlags,
  addWorkersFlag,
  withExecution,
  addQueueFlag,
  attackList,
  attackOptionsFromFlags,
  type AttackFlags,
  type DataFlags,
} from './shared.js';
import { ThreatError } from '../../core/errors.js';
import { isTextModel, loadModelInput, modelFlag } from './model-input.js';
import { addTextAttackFlags, runTextAttackCommand, type TextAttackFlags } from './text-attack.js';

interface AttackCommandFlags extends DataFlags, AttackFlags, TextAttackFlags {
  model?: string;
  attack: string;
  norm: string;
  epsilon: string;
  randomStart: boolean;
  target?: number;
  batchSize: number;
  seed: number;
  out?: string;
  saveExamples?: boolean;
  backend?: string;
  workers?: number;
  quiet?: boolean;
}

export function parseEpsilon(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value))
    throw new ThreatError('E_EPSILON_RANGE', `--epsilon must be a number >= 0; got '${text}'.`);
  return value;
}

export function registerAttack(program: Command): void {
  const command = program
    .command('attack')
    .description(
      'Attack a model on a data subset; print the success rate and write per-example results as JSON. A saved text filter is attacked with a text search (--data jsonl:…).',
    )
    .option(
      '--model <source>',
      'the model: a directory Rampart saved (image or text), model.onnx, onnx:PATH, onnxruntime:PATH, tfjs:PATH or http://…',
    )
    .option('--attack <id>', `attack id: ${attackList()}; for a text filter greedy, beam or gradient (default greedy)`, 'pgd')
    .option('--norm <id>', `threat norm: ${NORM_IDS.join(', ')}`, 'linf')
    .option('--epsilon <value>', 'perturbation budget in the norm', '0.3')
    .option('--no-random-start', 'PGD starts at the clean input')
    .option('--target <class>', 'targeted attack towards this class', wholeNumber('--target'))
    .option('--batch-size <n>', 'examples per attack batch', wholeNumber('--batch-size', 1), 256)
    .option('--seed <n>', 'seed for random starts', wholeNumber('--seed'), 0)
    .option('--out <file>', 'write the JSON result here')
    .option('--save-examples', 'include the adversarial inputs in the JSON result');
  addQueueFlag(command);
  addWorkersFlag(addEngineFlags(addDataFlags(addAttackFlags(addTextAttackFlags(command))))).action(async (flags: AttackCommandFlags) => {
    if (await isTextModel(modelFlag(flags.model))) {
      const attack = command.getOptionValueSource('attack') === 'cli' ? flags.attack : 'greedy';
      await runTextAttackCommand(modelFlag(flags.model), { ...flags, attack });
      return;
    }
    const attackOptions = attackOptionsFromFlags(flags.attack, flags);
    const attack = createAttack(flags.attack, attackOptions);
    const epsilon = parseEpsilon(flags.epsilon);
    const engine = await initEngine(flags.backend === undefined ? {} : { backend: flags.backend });
    const input = await loadModelInput(flags.model, flags);
    const { data } = input;
    const model = input.loaded.classifier;
    const threat = threatModel({ norm: flags.norm, epsilon, bounds: model.bounds });
    const bar = createProgress(`${attack.id} ${threat.id}`, { quiet: flags.quiet === true });
    const result = await withExecution(flags, engine.backend, (pool) =>
      attackDataset({
        pool,
        attackOptions,
        model,
        data: data.selected,
        attack,
        threat,
        batchSize: flags.batchSize,
        seed: flags.seed,
        keepAdversarial: flags.saveExamples === true,
        ...(flags.target === undefined ? {} : { targetClass: flags.target }),
        onProgress: (p) => bar.update(p.done, p.total),
      }),
    );
    bar.stop();
    input.loaded.dispose();
    const s = result.summary;
    say(`${attack.id} ${threat.id} on ${data.selected.name} (${s.attacked} examples, backend ${engine.backend})`);
    say(
      `clean accuracy ${percent(s.cleanAccuracy)} -> adversarial accuracy ${percent(s.adversarialAccuracy)}; success rate ${percent(s.successRate)}; mean perturbation ${s.meanPerturbation.toFixed(4)}`,
    );
    if (flags.out) {
      const { adversarial, ...rest } = result;
      await writeJsonFile(flags.out, {
        kind: 'rampart.attack-result',
        schemaVersion: 1,
        engine,
        model: input.name,
        modelIdentity: input.loaded.identity,
        data: { name: data.selected.name, count: data.selected.count, sha256: data.provenance.sha256, split: data.provenance.split },
        ...rest,
        ...(adversarial
          ? { adversarialShape: [result.examples.length, ...data.selected.shape], adversarial: Array.from(adversarial) }
          : {}),
      });
      say(`result: ${flags.out}`);
    }
  });
}
