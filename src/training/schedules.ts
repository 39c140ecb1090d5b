/**
 * Learning-rate schedules as pure functions of training progress, so a resumed run and an
 * uninterrupted one see the same rate at the same step.
 */
import { UsageError, listChoices } from '../core/errors.js';

export type ScheduleSpec =
  | { kind: 'constant' }
  /** Multiply by `gamma` at each milestone epoch (1-based, e.g. [10, 15]). */
  | { kind: 'step'; milestones: number[]; gamma: number }
  /** Cosine decay from the base rate to `minFactor` times it over the run. */
  | { kind: 'cosine'; minFactor?: number }
  /** Triangle: linear from 0 to the base rate at `peakAt` (fraction of the run), then back to 0 (fast AT's cyclic rate). */
  | { kind: 'one-cycle'; peakAt?: number };

export const SCHEDULE_KINDS = ['constant', 'step', 'cosine', 'one-cycle'] as const;

/** `(epoch, fractionOfEpoch) -> rate` with epoch 0-based and fraction in [0, 1). */
export type Schedule = (epoch: number, fraction: number) => number;

/**
 * @throws UsageError `E_SCHEDULE` for an unknown kind or bad parameters.
 * @example const rate = makeSchedule({ kind: 'cosine' }, 1e-3, 10)(4, 0.5);
 */
export function makeSchedule(spec: ScheduleSpec, baseRate: number, epochs: number): Schedule {
  if (!(Number.isFinite(baseRate) && baseRate > 0))
    throw new UsageError('E_LEARNING_RATE', `Learning rate must be a number > 0; got ${baseRate}.`);
  switch (spec.kind) {
    case 'constant':
      return () => baseRate;
    case 'step': {
      if (!(spec.gamma > 0) || spec.milestones.some((m) => !Number.isInteger(m) || m < 1)) {
        throw new UsageError('E_SCHEDULE', 'A step schedule needs gamma > 0 and whole-number milestone epochs >= 1.');
      }
      return (epoch) => baseRate * spec.gamma ** spec.milestones.filter((m) => epoch + 1 > m).length;
    }
    case 'cosine': {
      const min = baseRate * (spec.minFactor ?? 0);
      return (epoch, fraction) => min + ((baseRate - min) * (1 + Math.cos((Math.PI * (epoch + fraction)) / Math.max(1, epochs)))) / 2;
    }
    case 'one-cycle': {
      const peak = spec.peakAt ?? 0.4;
      if (!(peak > 0 && peak < 1)) throw new UsageError('E_SCHEDULE', `one-cycle peakAt must be in (0, 1); got ${peak}.`);
      return (epoch, fraction) => {
        const t = (epoch + fraction) / Math.max(1, epochs);
        return t <= peak ? (baseRate * t) / peak : (baseRate * Math.max(0, 1 - t)) / (1 - peak);
      };
    }
    default:
      throw new UsageError('E_SCHEDULE', `Unknown schedule '${(spec as { kind: string }).kind}'; use ${listChoices(SCHEDULE_KINDS)}.`);
  }
}

/**
 * Parses the CLI form: `constant`, `cosine`, `one-cycle[:0.4]`, or `step:10,15` (gamma 0.1) / `step:10,15:0.5`.
 *
 * @throws UsageError `E_SCHEDULE` for anything else.
 */
export function parseSchedule(text: string): ScheduleSpec {
  const [kind, milestones, gamma] = text.split(':');
  if (kind === 'constant' && milestones === undefined) return { kind: 'constant' };
  if (kind === 'cosine' && milestones === undefined) return { kind: 'cosine' };
  if (kind === 'one-cycle') {
    const spec: ScheduleSpec = milestones === undefined ? { kind: 'one-cycle' } : { kind: 'one-cycle', peakAt: Number(milestones) };
    makeSchedule(spec, 1, 1);
    return spec;
  }
  if (kind === 'step' && milestones) {
    const spec: ScheduleSpec = {
      kind: 'step',
      milestones: milestones.split(',').map(Number),
      gamma: gamma === undefined ? 0.1 : Number(gamma),
    };
    makeSchedule(spec, 1, 1);
    return spec;
  }
  throw new UsageError(
    'E_SCHEDULE',
    `Schedule '${text}' is not valid; use 'constant', 'cosine', 'one-cycle[:PEAK]' or 'step:EPOCH[,EPOCH...][:GAMMA]'.`,
  );
}
