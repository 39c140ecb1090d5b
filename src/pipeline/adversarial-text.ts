/**
 * Text adversarial sets in training: the confirmed text attacks (captured requests a
 * reviewer labelled, text-attack rewrites) appended to the text model's training split,
 * each `round(weight)` times, the way `mixAdversarial` does for images. It works on the
 * dataset, before any featurizer, so it holds for whichever text model the plan trains.
 */
import { ConfigError } from '../core/errors.js';
import type { TextDataset } from '../data/text/index.js';
import type { ResolvedAdversarialSet } from './refresh-adversarial.js';

/**
 * The texts and labels of a text set, checked against the training classes.
 *
 * @throws ConfigError `E_ADVSET_SHAPE` for a set that is not text; `E_ADVSET_LABEL` for a label outside the classes.
 */
export function adversarialTexts(s: ResolvedAdversarialSet, classes: readonly string[]): { texts: string[]; labels: number[] } {
  if (s.set.channel !== 'text') {
    throw new ConfigError(
      'E_ADVSET_SHAPE',
      `Adversarial set '${s.name}' holds ${s.set.channel} inputs; the text model takes texts. List it where the image model's training takes it.`,
    );
  }
  const texts: string[] = [];
  const labels: number[] = [];
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
  }
  return { texts, labels };
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
