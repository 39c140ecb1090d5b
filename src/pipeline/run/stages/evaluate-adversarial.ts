/**
 * The confirmed attacks of a plan's adversarial sets in an evaluation stage, for the gate's
 * `adversarialSet` criterion: each set is scored by the model of its channel that the stage
 * measures (image sets by the image model, text sets by the text filter as deployed), all
 * through `measureAdversarialSets`, so both channels meet the same share, per threat and per set.
 */
import type { Dataset } from '../../../core/types.js';
import type { AdversarialSetResult } from '../../../eval/results.js';
import type { Classifier } from '../../../models/classifier.js';
import { loadSavedTextFilter } from '../../../defenses/normalize-text/saved-filter.js';
import { textSetScorer } from '../../adversarial-text.js';
import {
  ADVERSARIAL_SETS,
  adversarialInputs,
  imageSetScorer,
  measureAdversarialSets,
  setsOfChannel,
  type ResolvedAdversarialSet,
  type SetScorer,
} from '../../refresh-adversarial.js';
import type { Plan } from '../../plan/schema.js';

/** The models an evaluation stage measures, per channel. */
export interface MeasuredModels {
  image?: { classifier: Classifier; like: Pick<Dataset, 'shape' | 'numClasses' | 'bounds'> };
  /** The directory of the saved text filter (trained by the plan, or its own `text.source`). */
  textDir?: string;
}

type Channel = 'image' | 'text';

function channelsOf(models: { image?: unknown; text?: unknown }): Channel[] {
  return [...(models.image ? ['image' as const] : []), ...(models.text ? ['text' as const] : [])];
}

/**
 * What an evaluation stage hashes for the sets: digests and weights per channel it measures,
 * each key only when the plan names sets for it (so plans without sets keep their cache keys).
 */
export function adversarialStageInputs(
  plan: Plan,
  extras: Readonly<Record<string, unknown>>,
  measures: { image: boolean; text: boolean },
): Record<string, unknown> {
  const sets = extras[ADVERSARIAL_SETS] as ResolvedAdversarialSet[] | undefined;
  const text = measures.text ? setsOfChannel(sets, 'text') : [];
  return {
    ...(plan.data?.adversarial ? { adversarial: adversarialInputs(setsOfChannel(sets, 'image')) } : {}),
    ...(text.length > 0 ? { textAdversarial: adversarialInputs(text) } : {}),
  };
}

/**
 * The candidate's accuracy on the sets of every channel `models` covers, or undefined when
 * the plan names none for them. Sets of a channel the stage does not measure are left to
 * the stage that does (the baseline's attack stage measures no text filter).
 *
 * @throws ConfigError `E_ADVSET_SHAPE` / `E_ADVSET_LABEL` for a set that does not fit its model; DataError when
 *   the saved text filter cannot be loaded.
 */
export async function measurePlanSets(
  extras: Readonly<Record<string, unknown>>,
  models: MeasuredModels,
): Promise<AdversarialSetResult | undefined> {
  const all = extras[ADVERSARIAL_SETS] as ResolvedAdversarialSet[] | undefined;
  const channels = channelsOf({ image: models.image, text: models.textDir });
  const sets = (all ?? []).filter((s) => channels.includes(s.set.channel));
  if (sets.length === 0) return undefined;
  const scorers: Partial<Record<Channel, SetScorer>> = {};
  if (models.image) scorers.image = imageSetScorer(models.image.classifier, models.image.like);
  // The text filter is loaded only when a text set is there to score, and disposed after.
  const text = models.textDir && sets.some((s) => s.set.channel === 'text') ? await loadSavedTextFilter(models.textDir) : undefined;
  try {
    if (text) scorers.text = textSetScorer(text.filter);
    return await measureAdversarialSets(sets, scorers);
  } finally {
    text?.model.dispose();
  }
}
