/**
 * Text adversarial sets in training: the confirmed text attacks (captured requests a
 * reviewer labelled, text-attack rewrites) appended to the text model's training split,
 * each `round(weight)` times, the way `mixAdversarial` does for images. It works on the
 * dataset, before any featurizer, so it holds for whichever text model the plan trains.
 * And the gate's side: `textSetScorer` scores the same texts with the filter as deployed.
 */
import { ConfigError } from '../core/errors.js';
import type { TextDataset } from '../data/text/index.js';
import type { TextClassifier } from '../models/text/text-classifier.js';
import type { ResolvedAdversarialSet, SetScorer } from './refresh-adversarial.js';

/**
 * The texts and labels of a text set, checked against the training classes.
 *
 * @throws ConfigError `E_ADVSET_SHAPE` for a set that is not text; `E_ADVSET_LABEL` for a label outside the classes.
 */
export function adversarialTexts(
  s: ResolvedAdversarialSet,
  classes: readonly string[],
): { texts: string[]; labels: number[]; threats: string[] } {
  if (s.set.channel !== 'text') {
    throw new ConfigError(
      'E_ADVSET_SHAPE',
      `Adversarial set '${s.name}' holds ${s.set.channel} inputs; the text model takes texts. List it where the image model's training takes it.`,
    );
  }
  const texts: string[] = [];
  const labels: number[] = [];
  const threats: string[] = [];
  for (const item of s.set.items) {
    if (typeof item.text !== 'string') continue;
    if (item.label >= classes.length) {
      throw new ConfigError(
        'E_ADVSET_LABEL',
        `Adversarial set '${s.name}' labels a text ${item.label}, and the text model has ${classes.length} classes (${classes.join(', ')}); relabel the item in review or use a set from this model's classes.`,
      );
    }
    texts.push(item.text);
    labels.push(item.label);
    threats.push(item.threat ?? 'unknown');
  }
  return { texts, labels, threats };
}

/**
 * `train` with every text set's examples appended `round(weight)` times (at least once).
 *
 * @throws ConfigError as `adversarialTexts`.
 * @example const mixed = mixAdversarialTexts(splits.train, setsOfChannel(sets, 'text'));
 */
export function mixAdversarialTexts(train: TextDataset, sets: readonly ResolvedAdversarialSet[]): TextDataset {
  const texts = [...train.texts];
  const labels = [...train.labels];
  for (const s of sets) {
    const add = adversarialTexts(s, train.classes);
    for (let t = 0; t < Math.max(1, Math.round(s.weight)); t++) {
      texts.push(...add.texts);
      labels.push(...add.labels);
    }
  }
  if (texts.length === train.texts.length) return train;
  return { ...train, name: `${train.name}+adversarial`, texts, labels };
}

/** Texts per `predictProba` call: bounds the memory one scoring batch takes. */
const SCORE_BATCH = 256;

/**
 * Scores text sets with `filter`, the text model as deployed (behind its normaliser, at its
 * decision threshold): an item is right when the filter's top class is the reviewer's label.
 *
 * @throws ConfigError (when scoring) as `adversarialTexts`.
 * @example const result = await measureAdversarialSets(sets, { text: textSetScorer(filter) });
 */
export function textSetScorer(filter: TextClassifier): SetScorer {
  return async (s) => {
    const { texts, labels, threats } = adversarialTexts(s, filter.classes);
    const verdicts = [];
    for (let start = 0; start < texts.length; start += SCORE_BATCH) {
      const probs = await filter.predictProba(texts.slice(start, start + SCORE_BATCH));
      for (const [j, row] of probs.entries()) {
        const top = row.indexOf(Math.max(...row));
        verdicts.push({ threat: threats[start + j] as string, correct: top === labels[start + j] });
      }
    }
    return verdicts;
  };
}
