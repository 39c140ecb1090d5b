/**
 * `rampart explain`: why a saved model gives its answer for one input. Image and tabular
 * models take `--input` (a .png, or a row of a .npy array) and one of the attribution methods;
 * text models take `--text` and leave-one-out (any filter, as deployed: normaliser and
 * threshold included) or gradient × input (the raw hashed model). Prints the top elements or
 * words; `--out` writes a PNG (input | attribution | overlay) or a self-contained HTML page.
 */
import { extname } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { writeFileAtomic, writeJsonFile, writeTextFile } from '../../core/files.js';
import { initEngine } from '../../engine/backend.js';
import { explainInput } from '../../eval/explain/explain.js';
import { ATTRIBUTION_METHODS, IG_BASELINES, type Attribution, type TextAttribution } from '../../eval/explain/types.js';
import { positionOf } from '../../eval/explain/compare.js';
import { topIndices } from '../../eval/explain/stats.js';
import { leaveOneOut, textGradientTimesInput } from '../../eval/explain/text.js';
import { readModelMetadata } from '../../models/io/index.js';
import { loadClassifierModel } from '../../models/store.js';
import { TEXT_CLASSIFIER_FORMAT } from '../../models/text/store.js';
import { loadSavedTextFilter } from '../../defenses/normalize-text/saved-filter.js';
import { explanationImage, imageExplanationHtml, textExplanationHtml } from '../../report/html/explanation-page.js';
import { positiveNumber, wholeNumber } from '../parse.js';
import { say } from '../output.js';
import { pngjs, readExplainInput } from './explain-input.js';
import { addEngineFlags } from './shared.js';

const TEXT_METHODS = ['loo', 'gradient'] as const;

interface ExplainFlags {
  model?: string;
  input?: string;
  row: number;
  text?: string;
  method?: string;
  target?: string;
  steps?: number;
  baseline?: string;
  samples?: number;
  noise?: number;
  window?: number;
  stride?: number;
  fill?: number;
  seed: number;
  top: number;
  maxWords?: number;
  out?: string;
  json?: string;
  backend?: string;
}

function outKind(out: string | undefined, text: boolean): 'png' | 'html' | undefined {
  if (out === undefined) return undefined;
  const ext = extname(out).toLowerCase();
  if (ext === '.html') return 'html';
  if (ext === '.png' && !text) return 'png';
  throw new UsageError('E_FLAG_VALUE', `--out must end in ${text ? '.html for a text explanation' : '.png or .html'}; got '${out}'.`, {
    details: { out },
  });
}

async function explainImage(dir: string, flags: ExplainFlags): Promise<void> {
  if (!flags.input)
    throw new UsageError('E_MISSING_FLAG', 'Give the input to explain with --input FILE (.png or .npy), or --text "..." for a text model.');
  const out = outKind(flags.out, false);
  const stored = await loadClassifierModel(dir);
  try {
    const model = stored.classifier;
    const x = readExplainInput(flags.input, flags.row, model.inputShape, model.bounds);
    const target = flags.target === undefined ? undefined : Number(flags.target);
    if (target !== undefined && !Number.isInteger(target))
      throw new UsageError('E_FLAG_VALUE', `--target must be a class index 0..${model.numClasses - 1}; got '${flags.target}'.`);
    const attribution = await explainInput(model, x, {
      method: (flags.method ?? 'ig') as Attribution['method'],
      seed: flags.seed,
      ...(target === undefined ? {} : { target }),
      ...(flags.steps === undefined ? {} : { steps: flags.steps }),
      ...(flags.baseline === undefined ? {} : { baseline: flags.baseline as never }),
      ...(flags.samples === undefined ? {} : { samples: flags.samples }),
      ...(flags.noise === undefined ? {} : { noise: flags.noise }),
      ...(flags.window === undefined ? {} : { window: flags.window }),
      ...(flags.stride === undefined ? {} : { stride: flags.stride }),
      ...(flags.fill === undefined ? {} : { fill: flags.fill }),
    });
    say(
      `model ${model.id} (${dir}): class ${attribution.target} explained by ${attribution.method}, ${attribution.evaluations} model evaluations`,
    );
    if (attribution.completenessError !== undefined)
      say(
        `completeness: Σ attribution vs f(x) − f(baseline) = ${attribution.scoreDifference?.toFixed(4)}, error ${(attribution.completenessError * 100).toFixed(2)}%${attribution.completenessError > 0.01 ? ' (above 1%: raise --steps)' : ''}`,
      );
    say(`top ${flags.top} by |attribution| (position: input → attribution):`);
    for (const j of topIndices(
      Float32Array.from(attribution.values, (v) => Math.abs(v)),
      flags.top,
    ))
      say(
        `  [${positionOf(j, attribution.shape).join(', ')}]: ${(x[j] as number).toFixed(4)} → ${(attribution.values[j] as number).toFixed(5)}`,
      );
    const view = { model: model.id, className: String(attribution.target), input: x, bounds: model.bounds, attribution };
    if (out === 'png' && flags.out) {
      const { width, height, rgba } = explanationImage(view);
      await writeFileAtomic(flags.out, pngjs().PNG.sync.write({ width, height, data: rgba }));
      say(`wrote ${flags.out} (input | attribution | overlay; red supports the class, blue opposes it)`);
    } else if (out === 'html' && flags.out) {
      await writeTextFile(flags.out, imageExplanationHtml(view, flags.top));
      say(`wrote ${flags.out}`);
    }
    if (flags.json) await writeJsonFile(flags.json, { ...attribution, values: Array.from(attribution.values) });
  } finally {
    stored.model.dispose();
  }
}

async function explainText(dir: string, text: string, flags: ExplainFlags): Promise<void> {
  const out = outKind(flags.out, true);
  const method = flags.method ?? 'loo';
  if (!(TEXT_METHODS as readonly string[]).includes(method))
    throw new UsageError('E_FLAG_VALUE', `--method for a text model must be one of ${TEXT_METHODS.join(', ')}; got '${method}'.`, {
      details: { method, valid: TEXT_METHODS },
    });
  const { model, filter } = await loadSavedTextFilter(dir);
  try {
    let target: number | undefined;
    if (flags.target !== undefined) {
      const byName = model.classes.indexOf(flags.target);
      target = byName >= 0 ? byName : Number(flags.target);
      if (!Number.isInteger(target))
        throw new UsageError(
          'E_FLAG_VALUE',
          `--target must be a class name or index (${model.classes.join(', ')}); got '${flags.target}'.`,
        );
    }
    const options = { ...(target === undefined ? {} : { target }), ...(flags.maxWords === undefined ? {} : { maxWords: flags.maxWords }) };
    // Leave-one-out asks the filter as deployed; the gradient exists only on the raw hashed model.
    const attribution: TextAttribution =
      method === 'loo' ? await leaveOneOut(filter, text, options) : await textGradientTimesInput(model, text, options);
    const cls = model.classes[attribution.target] ?? String(attribution.target);
    say(
      `model ${model.id} (${dir}): '${cls}' with p = ${attribution.probability.toFixed(4)}, explained by ${attribution.method}, ${attribution.evaluations} evaluations`,
    );
    say(`top ${flags.top} words by |importance|:`);
    for (const w of [...attribution.words].sort((a, b) => Math.abs(b.importance) - Math.abs(a.importance)).slice(0, flags.top))
      say(`  ${w.word} (#${w.index}): ${w.importance >= 0 ? '+' : ''}${w.importance.toFixed(5)}`);
    if (out === 'html' && flags.out) {
      await writeTextFile(flags.out, textExplanationHtml(model.id, model.classes, attribution));
      say(`wrote ${flags.out}`);
    }
    if (flags.json) await writeJsonFile(flags.json, attribution);
  } finally {
    model.dispose();
  }
}

async function isTextModel(dir: string): Promise<boolean> {
  try {
    return (await readModelMetadata(dir)).format === TEXT_CLASSIFIER_FORMAT;
  } catch {
    // Not readable as a model here: the image loader reports why.
    return false;
  }
}

export function registerExplain(program: Command): void {
  const command = program
    .command('explain')
    .description('Explain one prediction of a saved model: which pixels, features or words drove it.')
    .option('--model <dir>', 'model directory (an image/tabular model, or a text model from a plan)')
    .option('--input <file>', 'image or tabular input: a .png (model-sized) or a .npy array (see --row)')
    .option('--row <n>', 'row of the .npy array to explain', wholeNumber('--row'), 0)
    .option('--text <text>', 'the text to explain (text models)')
    .option(
      '--method <id>',
      `image/tabular: ${ATTRIBUTION_METHODS.join(', ')} (default ig); text: ${TEXT_METHODS.join(', ')} (default loo)`,
    )
    .option('--target <class>', 'class to explain (index, or class name for text); default: the prediction')
    .option('--steps <n>', 'ig: path steps (default 64)', wholeNumber('--steps', 1))
    .option('--baseline <id>', `ig: ${IG_BASELINES.join(', ')} (default zeros)`)
    .option('--samples <n>', 'smoothgrad: noisy copies (default 32)', wholeNumber('--samples', 1))
    .option('--noise <level>', 'smoothgrad: noise std as a fraction of the input range (default 0.15)', positiveNumber('--noise'))
    .option('--window <n>', 'occlusion: window side (default 4)', wholeNumber('--window', 1))
    .option('--stride <n>', 'occlusion: stride (default 2)', wholeNumber('--stride', 1))
    .option('--fill <value>', 'occlusion: fill value (default: the bounds minimum)', Number)
    .option('--max-words <n>', 'text loo: words scored at most (default 400)', wholeNumber('--max-words', 1))
    .option('--seed <n>', 'seed of smoothgrad noise and uniform baselines', wholeNumber('--seed'), 1)
    .option('--top <k>', 'elements or words printed', wholeNumber('--top', 1), 10)
    .option('--out <file>', 'write a picture (.png) or a self-contained page (.html)')
    .option('--json <file>', 'write the attribution as JSON');
  addEngineFlags(command).action(async (flags: ExplainFlags) => {
    if (!flags.model) throw new UsageError('E_MISSING_FLAG', 'Give the model directory with --model DIR.');
    if ((flags.input === undefined) === (flags.text === undefined))
      throw new UsageError('E_MISSING_FLAG', 'Give exactly one of --input FILE (image or tabular models) and --text "..." (text models).');
    await initEngine(flags.backend === undefined ? {} : { backend: flags.backend });
    if (await isTextModel(flags.model)) {
      if (flags.text === undefined)
        throw new UsageError('E_MISSING_FLAG', `${flags.model} holds a text model; give the text with --text "...".`);
      await explainText(flags.model, flags.text, flags);
    } else await explainImage(flags.model, flags);
  });
}
