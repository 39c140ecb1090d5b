/** What the `tabular` stage reports, for your model and for one Rampart builds and hardens. */
import type { Rate } from '../../../eval/rate.js';
import type { ReliabilityBin } from '../../../eval/results.js';
import type { SourceModelOutputs } from './model-source.js';
import type { TabularTrainingOutputs } from './tabular-train.js';

export interface TabularOutputs {
  data: {
    name: string;
    sha256: string;
    features: string[];
    classes: string[];
    /** The box every feature stays in under attack: the smallest and largest value in the file. */
    bounds: { min: number; max: number };
    counts: { train: number; validation: number; test: number };
  };
  /** The evaluated rows: the test split's first `limit`. */
  evaluated: { name: string; sha256: string; count: number };
  model: SourceModelOutputs;
  /** With a built model: the baseline and hardened models, their numbers under the constrained threats, and the lift. */
  training?: TabularTrainingOutputs;
  /** Mean per-class recall of the candidate on the test rows (built models). */
  balancedAccuracy?: number;
  clean: Rate;
  robust: Record<string, Rate>;
  ece: number;
  reliability: ReliabilityBin[];
  latencyP99Ms: number;
  /** robustness-<norm>.json files, relative to the run directory. */
  reports: string[];
}
