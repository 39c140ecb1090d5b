/**
 * Adversarial training of a text filter in rounds: train, attack part of the training set
 * with a real search against the deployed pipeline, add what the attack produced (with the
 * true labels) to the training set, train again. Random perturbations (`augment`) teach a
 * model that edits happen; the search's outputs teach it the edits an attacker actually
 * picks, which random draws seldom hit (Goodfellow et al. 2015 for images; for text, the
 * attack-then-retrain recipe of TextAttack, Morris et al. 2020, and of Jin et al. 2020).
 *
 * Each round attacks texts the earlier rounds did not, so the set of adversarial examples
 * grows with fresh messages; once every text has been attacked, the next rounds start over
 * (against the newer model, which the old rewrites no longer fool). The model is retrained
 * from scratch on the clean data plus all of them, with the same options (normalisation,
 * augmentation, seed) as the first model. The model family is the `trainer`'s: the hashed
 * n-gram filter by default, or e.g. `trainCharCnnClassifier` for the char-CNN.
 *
 * With `holdOut`, the model a round attacks was trained without that round's texts, so the
 * attack meets them as it meets new mail: a model that has memorised its training spam
 * withstands attacks on it far better than on unseen spam (on SpamAssassin, at a 0.05
 * threshold, 0-2 of 300 training messages evaded in later rounds, against 58 -> 6 of 300
 * with hold-out). The rounds' models are then probes, and the returned model is trained
 * once more on all the data and every rewrite. It is off by default: on bench:text's 40
 * test messages the hold-out filter did not do better (combined attack 25% against 17.5%).
 */
import { UsageError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import type { TextAttack } from '../../attacks/text/types.js';
import type { TextThreatModel } from '../../threats/text-threat.js';
import { greedyWir } from '../../attacks/text/search/greedy-wir.js';
import type { TextDataset } from '../../data/text/text-dataset.js';
import type { HashedTextClassifier } from '../../models/text/hashed-classifier.js';
import type { TextClassifier } from '../../models/text/text-classifier.js';
import { trainTextClassifier, type TextTrainProgress, type TrainTextOptions } from './train.js';

/** A trained text model the rounds can attack and then free. */
export interface DisposableTextClassifier extends TextClassifier {
  dispose(): void;
}

/** Trains one model of the family the rounds harden, from the rounds' options. */
export type TextTrainer<M extends DisposableTextClassifier, O extends TrainTextOptions> = (
  dataset: TextDataset,
  options: O,
) => Promise<{ readonly classifier: M; readonly history: readonly TextTrainProgress[] }>;

export interface AdversarialRoundsOptions<
  M extends DisposableTextClassifier = HashedTextClassifier,
  O extends TrainTextOptions = TrainTextOptions,
> extends TrainTextOptions {
  /** Threat the attack searches within (the one the filter is meant to withstand). */
  readonly threat: TextThreatModel;
  /** Attack-and-retrain rounds after the first model; default 2. */
  readonly rounds?: number;
  /** Training texts attacked per round; default 300. */
  readonly perRound?: number;
  /** Classes whose texts are attacked (e.g. only spam: the attacker disguises spam); default all. */
  readonly attackClasses?: readonly number[];
  /** The search; default greedy word-importance with a 1,000-query cap per text. */
  readonly attack?: TextAttack;
  /**
   * The pipeline the attacker queries, around the trained model (e.g. `normalizedClassifier`
   * with the training normalisation): the attack must target what is deployed. Default: the
   * model itself.
   */
  readonly deploy?: (model: M) => TextClassifier;
  /** Trains each model (with these same options); default `trainTextClassifier` (the hashed n-gram filter). */
  readonly trainer?: TextTrainer<M, O>;
  /** Attack each round's texts with a model trained without them (see above); default false. */
  readonly holdOut?: boolean;
  readonly onRound?: (round: AdversarialRound) => void;
}

/** What one round's attack did on the training texts. */
export interface AdversarialRound {
  readonly round: number;
  /** Texts attacked (those the model classified correctly count in `evaded`'s denominator). */
  readonly attacked: number;
  readonly correctBefore: number;
  /** Texts the attack moved to another class. */
  readonly evaded: number;
  /** Changed texts added to the training set (every text the attack changed, evading or not). */
  readonly added: number;
  readonly seconds: number;
}

export interface AdversarialRoundsResult<M extends DisposableTextClassifier = HashedTextClassifier> {
  readonly classifier: M;
  readonly history: readonly TextTrainProgress[];
  readonly rounds: readonly AdversarialRound[];
  /** The adversarial texts added over all rounds, with their labels. */
  readonly added: TextDataset;
}

/**
 * Trains, then runs `rounds` rounds of attack and retraining; returns the last model.
 *
 * @throws UsageError `E_TEXT_TRAIN_OPTION` for a round count or per-round size that is not a
 *   whole number (rounds >= 0, perRound >= 1), or attack classes outside the data set's; and
 *   whatever {@link trainTextClassifier} throws.
 * @example
 * const { classifier, rounds } = await trainTextAdversarially(train, { threat, normalize, augment: { threat },
 *   attackClasses: [1], deploy: (m) => normalizedClassifier(m, normalize) });
 */
export async function trainTextAdversarially<
  M extends DisposableTextClassifier = HashedTextClassifier,
  O extends TrainTextOptions = TrainTextOptions,
>(dataset: TextDataset, options: AdversarialRoundsOptions<M, O> & O): Promise<AdversarialRoundsResult<M>> {
  const rounds = options.rounds ?? 2;
  const perRound = options.perRound ?? 300;
  if (!Number.isInteger(rounds) || rounds < 0) {
    throw new UsageError('E_TEXT_TRAIN_OPTION', `trainTextAdversarially: rounds must be a whole number >= 0, got ${rounds}.`, {
      details: { rounds },
    });
  }
  if (!Number.isInteger(perRound) || perRound < 1) {
    throw new UsageError('E_TEXT_TRAIN_OPTION', `trainTextAdversarially: perRound must be a whole number >= 1, got ${perRound}.`, {
      details: { perRound },
    });
  }
  const classes = options.attackClasses ?? dataset.classes.map((_, c) => c);
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0 || c >= dataset.classes.length) {
      throw new UsageError(
        'E_TEXT_TRAIN_OPTION',
        `trainTextAdversarially: attack class ${c} is not a class of '${dataset.name}'; use 0..${dataset.classes.length - 1} (${dataset.classes.join(', ')}).`,
        {
          details: { class: c, classes: dataset.classes },
        },
      );
    }
  }
  const seed = options.seed ?? 1;
  const attack = options.attack ?? greedyWir({ maxQueries: 1000 });
  const deploy = options.deploy ?? ((model: M): TextClassifier => model);
  const train = options.trainer ?? (trainTextClassifier as unknown as TextTrainer<M, O>);
  // Attack order: a seeded shuffle of the attacked classes' texts, consumed round by round.
  const candidates = createRng(seed ^ 0x5eed).shuffle(dataset.labels.flatMap((label, i) => (classes.includes(label) ? [i] : [])));
  const holdOut = options.holdOut ?? false;
  const addedTexts: string[] = [];
  const addedLabels: number[] = [];
  const history: AdversarialRound[] = [];
  // The training set of a model: the data (less the held-out texts) and every rewrite so far.
  const withRewrites = (heldOut: ReadonlySet<number>): TextDataset => ({
    name: `${dataset.name}+adversarial`,
    classes: dataset.classes,
    texts: [...dataset.texts.filter((_, i) => !heldOut.has(i)), ...addedTexts],
    labels: [...dataset.labels.filter((_, i) => !heldOut.has(i)), ...addedLabels],
  });
  // Without hold-out, each round attacks the current model, trained on everything so far.
  type Trained = Awaited<ReturnType<TextTrainer<M, O>>>;
  let result: Trained | undefined = holdOut ? undefined : await train(dataset, options);
  for (let round = 1; round <= rounds; round++) {
    if (candidates.length === 0) break;
    const picked = Array.from(
      { length: Math.min(perRound, candidates.length) },
      (_, k) => candidates[((round - 1) * perRound + k) % candidates.length] as number,
    );
    const started = performance.now();
    const texts = picked.map((i) => dataset.texts[i] as string);
    const labels = Int32Array.from(picked.map((i) => dataset.labels[i] as number));
    const target = result ?? (await train(withRewrites(new Set(picked)), options));
    const attacked = await attack.run(deploy(target.classifier), texts, labels, options.threat, { seed: seed + round });
    target.classifier.dispose();
    let correct = 0;
    let evaded = 0;
    let added = 0;
    texts.forEach((text, k) => {
      if (!attacked.originalCorrect[k]) return;
      correct++;
      if (attacked.success[k]) evaded++;
      const adversarial = attacked.adversarial[k] as string;
      if (adversarial !== text) {
        addedTexts.push(adversarial);
        addedLabels.push(labels[k] as number);
        added++;
      }
    });
    const report: AdversarialRound = {
      round,
      attacked: texts.length,
      correctBefore: correct,
      evaded,
      added,
      seconds: (performance.now() - started) / 1000,
    };
    history.push(report);
    options.onRound?.(report);
    result = holdOut ? undefined : await train(withRewrites(new Set()), options);
  }
  result ??= await train(withRewrites(new Set()), options);
  return {
    ...result,
    rounds: history,
    added: { name: `${dataset.name}-adversarial`, classes: dataset.classes, texts: addedTexts, labels: addedLabels },
  };
}
