/**
 * Phased exposure (curriculum): the threat's epsilon, and optionally the inner attack's
 * steps, ramp over configured phases. Models trained at the full budget from the start
 * often stall at chance (PGD-AT at MNIST's epsilon 0.3 does on small data); starting with
 * a fraction of the budget lets them learn the task first.
 */
import { UsageError } from '../core/errors.js';

export interface CurriculumPhase {
  /** Epochs this phase lasts; the last phase also covers every later epoch. */
  epochs: number;
  /** Fraction of the objective's epsilon (and step size) in this phase, in (0, 1]. */
  epsilonScale: number;
  /** Inner attack steps in this phase; default: the objective's own. */
  steps?: number;
}

export interface Exposure {
  epsilonScale: number;
  steps?: number;
}

/** @throws UsageError `E_CURRICULUM` for empty phases, scales outside (0, 1] or non-whole epochs/steps. */
export function validateCurriculum(phases: readonly CurriculumPhase[]): void {
  if (phases.length === 0) throw new UsageError('E_CURRICULUM', 'A curriculum needs at least one phase, e.g. 2:0.25,2:0.5,2:1.');
  phases.forEach((p, i) => {
    if (!Number.isInteger(p.epochs) || p.epochs < 1)
      throw new UsageError('E_CURRICULUM', `Curriculum phase ${i + 1}: epochs must be a whole number >= 1; got ${p.epochs}.`);
    if (!(p.epsilonScale > 0 && p.epsilonScale <= 1))
      throw new UsageError('E_CURRICULUM', `Curriculum phase ${i + 1}: the epsilon scale must be in (0, 1]; got ${p.epsilonScale}.`);
    if (p.steps !== undefined && !(Number.isInteger(p.steps) && p.steps >= 1))
      throw new UsageError('E_CURRICULUM', `Curriculum phase ${i + 1}: steps must be a whole number >= 1; got ${p.steps}.`);
  });
}

/** The exposure in force at a 0-based epoch. */
export function exposureAt(phases: readonly CurriculumPhase[], epoch: number): Exposure {
  let end = 0;
  for (const phase of phases) {
    end += phase.epochs;
    if (epoch < end)
      return phase.steps === undefined ? { epsilonScale: phase.epsilonScale } : { epsilonScale: phase.epsilonScale, steps: phase.steps };
  }
  const last = phases[phases.length - 1] as CurriculumPhase;
  return last.steps === undefined ? { epsilonScale: last.epsilonScale } : { epsilonScale: last.epsilonScale, steps: last.steps };
}

/**
 * Parses the CLI form `EPOCHS:SCALE[:STEPS],...`, e.g. `2:0.25,2:0.5:5,4:1`.
 *
 * @throws UsageError `E_CURRICULUM` for anything else.
 */
export function parseCurriculum(text: string): CurriculumPhase[] {
  const phases = text.split(',').map((part) => {
    const [epochs, scale, steps, ...rest] = part.trim().split(':');
    if (epochs === undefined || scale === undefined || rest.length > 0) {
      throw new UsageError('E_CURRICULUM', `Curriculum phase '${part}' is not EPOCHS:SCALE[:STEPS]; write e.g. 2:0.25,2:0.5,4:1.`);
    }
    return { epochs: Number(epochs), epsilonScale: Number(scale), ...(steps === undefined ? {} : { steps: Number(steps) }) };
  });
  validateCurriculum(phases);
  return phases;
}
