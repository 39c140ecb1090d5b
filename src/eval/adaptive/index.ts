/** Adaptive evaluation of a defended stack: the model and its detectors attacked together. */
export { abstainDetector, bpda, ensembleDetector, oodDetector, type StackDetector } from './detectors.js';
export { attackStack, stackVerdicts, type DefendedStack, type StackAttackOptions, type StackAttackResult } from './stack-attack.js';
export { evaluateDefendedStack, type DefendedStackEvalOptions, type DefendedStackReport, type StackConfigResult } from './evaluate.js';
