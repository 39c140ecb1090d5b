/**
 * The four spam filters `bench:text` compares, trained on one split with one model seed:
 *   undefended  - hashed n-gram MLP on raw text;
 *   ngram       - the hashed filter behind the vocabulary defence (normalise, repair, drop and
 *                 mark unknown words; marker features), phased augmentation, then adversarial
 *                 rounds (training/text/adversarial-rounds.ts);
 *   cnn         - the char-CNN behind the same normaliser, with the same augmentation and rounds;
 *   ensemble    - the mean of the ngram and cnn filters' spam probabilities, behind the normaliser.
 * Each is returned as deployed, before its threshold: the attack and the threshold choice
 * query the whole pipeline.
 */
import { createTextAttack } from '../src/attacks/text/registry.js';
import type { TextSplits } from '../src/data/text/index.js';
import { normalizedClassifier } from '../src/defenses/normalize-text/normalized-classifier.js';
import { OBFUSCATION_MARKER_PREFIX, type NormalizeTextOptions } from '../src/defenses/normalize-text/normalize.js';
import { meanTextEnsemble } from '../src/models/text/ensemble.js';
import { withDecisionThreshold } from '../src/models/text/decision-threshold.js';
import type { CharCnnTextClassifier } from '../src/models/text/char-cnn.js';
import type { HashedTextClassifier } from '../src/models/text/hashed-classifier.js';
import type { TextClassifier } from '../src/models/text/text-classifier.js';
import type { TextThreatModel } from '../src/threats/text-threat.js';
import { trainTextAdversarially } from '../src/training/text/adversarial-rounds.js';
import { trainCharCnnClassifier, type TrainCharCnnOptions } from '../src/training/text/train-char-cnn.js';
import { trainTextClassifier, type TextTrainProgress } from '../src/training/text/train.js';

export const FILTER_NAMES = ['undefended', 'ngram', 'cnn', 'ensemble'] as const;
export type FilterName = (typeof FILTER_NAMES)[number];

export interface FilterSettings {
  readonly modelSeed: number;
  readonly epochs: number;
  readonly hidden: number;
  readonly cnnEpochs: number;
  readonly cnn: TrainCharCnnOptions['cnn'];
  readonly cnnLearningRate: number;
  /** Adversarial rounds of the n-gram and CNN filters, texts per round, queries per text. */
  readonly rounds: number;
  readonly perRound: number;
  readonly roundQueries: number;
  readonly cnnRounds: number;
  readonly cnnPerRound: number;
  /** The rounds' attack must push the spam probability below this. */
  readonly roundThreshold: number;
  /** Threat the augmentation and rounds draw from. */
  readonly threat: TextThreatModel;
}

export interface TrainedFilters {
  readonly filters: Map<FilterName, TextClassifier>;
  readonly seconds: Map<FilterName, number>;
  dispose(): void;
}

const SCHEDULE = [
  { epochs: 1, rate: 0 },
  { epochs: 1, rate: 0.25 },
  { epochs: 1, rate: 0.5 },
];

/** Trains the filters `wanted` asks for (the ensemble trains both of its members). */
export async function trainFilters(
  splits: TextSplits,
  normalize: NormalizeTextOptions,
  settings: FilterSettings,
  wanted: readonly FilterName[],
  log: (msg: string) => void,
): Promise<TrainedFilters> {
  const spam = splits.train.classes.indexOf('spam');
  const progress =
    (name: string) =>
    (p: TextTrainProgress): void =>
      log(
        `${name}: epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} val acc ${((p.validationAccuracy ?? 0) * 100).toFixed(2)}% (${p.seconds.toFixed(0)}s)`,
      );
  const round = (name: string) => (r: { round: number; evaded: number; correctBefore: number; added: number; seconds: number }) =>
    log(
      `${name}: adversarial round ${r.round}: ${r.evaded}/${r.correctBefore} training spam evaded, ${r.added} added (${r.seconds.toFixed(0)}s)`,
    );
  const common = {
    seed: settings.modelSeed,
    normalize,
    validation: splits.validation,
    threat: settings.threat,
    attackClasses: [spam],
    augment: { threat: settings.threat, schedule: SCHEDULE },
  };
  const filters = new Map<FilterName, TextClassifier>();
  const seconds = new Map<FilterName, number>();
  const owned: { dispose(): void }[] = [];
  const timed = async <T>(name: FilterName, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await f();
    seconds.set(name, (performance.now() - t0) / 1000);
    return out;
  };
  const need = (name: FilterName): boolean =>
    wanted.includes(name) || (wanted.includes('ensemble') && (name === 'ngram' || name === 'cnn'));
  if (wanted.includes('undefended')) {
    const { classifier } = await timed('undefended', () =>
      trainTextClassifier(splits.train, {
        epochs: settings.epochs,
        hidden: settings.hidden,
        seed: settings.modelSeed,
        id: 'undefended',
        validation: splits.validation,
        onEpoch: progress('undefended'),
      }),
    );
    owned.push(classifier);
    filters.set('undefended', classifier);
  }
  let ngram: HashedTextClassifier | undefined;
  if (need('ngram')) {
    ngram = (
      await timed('ngram', () =>
        trainTextAdversarially(splits.train, {
          ...common,
          epochs: settings.epochs + 1,
          hidden: settings.hidden,
          id: 'ngram',
          featurizer: { markerPrefix: OBFUSCATION_MARKER_PREFIX },
          rounds: settings.rounds,
          perRound: settings.perRound,
          attack: createTextAttack('greedy', { maxQueries: settings.roundQueries }),
          deploy: (m) =>
            withDecisionThreshold(normalizedClassifier(m, normalize), { positiveClass: spam, threshold: settings.roundThreshold }),
          onRound: round('ngram'),
          onEpoch: progress('ngram'),
        }),
      )
    ).classifier;
    owned.push(ngram);
    filters.set('ngram', normalizedClassifier(ngram, normalize));
  }
  let cnn: CharCnnTextClassifier | undefined;
  if (need('cnn')) {
    cnn = (
      await timed('cnn', () =>
        trainTextAdversarially<CharCnnTextClassifier, TrainCharCnnOptions>(splits.train, {
          ...common,
          epochs: settings.cnnEpochs,
          learningRate: settings.cnnLearningRate,
          id: 'cnn',
          cnn: settings.cnn,
          trainer: trainCharCnnClassifier,
          rounds: settings.cnnRounds,
          perRound: settings.cnnPerRound,
          attack: createTextAttack('greedy', { maxQueries: settings.roundQueries }),
          deploy: (m) =>
            withDecisionThreshold(normalizedClassifier(m, normalize), { positiveClass: spam, threshold: settings.roundThreshold }),
          onRound: round('cnn'),
          onEpoch: progress('cnn'),
        }),
      )
    ).classifier;
    owned.push(cnn);
    filters.set('cnn', normalizedClassifier(cnn, normalize));
  }
  if (wanted.includes('ensemble') && ngram && cnn) {
    // One normaliser in front of both members: they were trained behind the same one.
    filters.set('ensemble', normalizedClassifier(meanTextEnsemble([ngram, cnn], 'ngram+cnn'), normalize));
    seconds.set('ensemble', (seconds.get('ngram') ?? 0) + (seconds.get('cnn') ?? 0));
  }
  for (const name of [...filters.keys()]) if (!wanted.includes(name)) filters.delete(name);
  return { filters, seconds, dispose: () => owned.forEach((m) => m.dispose()) };
}
