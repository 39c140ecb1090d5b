/**
 * What each registered attack reads from the model: input gradients, scores or labels only.
 * One table, so the registry, the wrapper's refusal and its error message ("use square or
 * hsj") agree; the conformance tests run every registered attack against a score-only and a
 * label-only target to check each attack's search keeps to what it declares here.
 */
import { TARGET_ACCESS, type TargetAccess } from '../models/classifier.js';

/** What an attack needs from the model; the same scale as a target's {@link TargetAccess}. */
export type AttackAccess = TargetAccess;

/** The declared access of every registered attack, by id (the registry's keys must match). */
export const ATTACK_ACCESS = {
  fgsm: 'gradients',
  pgd: 'gradients',
  'apgd-ce': 'gradients',
  'apgd-dlr': 'gradients',
  'apgd-t': 'gradients',
  deepfool: 'gradients',
  fab: 'gradients',
  'fab-t': 'gradients',
  cw: 'gradients',
  hsj: 'labels',
  square: 'scores',
  universal: 'gradients',
  patch: 'gradients',
  'sparse-l0': 'gradients',
  occlusion: 'scores',
  'tabular-pgd': 'gradients',
  'tabular-apgd': 'gradients',
  lowprofool: 'gradients',
  'tabular-random-search': 'scores',
} as const satisfies Record<string, AttackAccess>;

export type RegisteredAttackId = keyof typeof ATTACK_ACCESS;

/** True when a target offering `offered` answers what an attack needing `needed` asks (gradients ⊃ scores ⊃ labels). */
export function accessSuffices(offered: TargetAccess, needed: AttackAccess): boolean {
  return TARGET_ACCESS.indexOf(offered) <= TARGET_ACCESS.indexOf(needed);
}

/** The registered attacks that can run against a target offering `offered`, in catalog order. */
export function attacksRunnableWith(offered: TargetAccess): string[] {
  return Object.entries(ATTACK_ACCESS)
    .filter(([, needed]) => accessSuffices(offered, needed))
    .map(([id]) => id);
}
