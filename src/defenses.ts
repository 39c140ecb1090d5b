/** `rampart/defenses`: runtime defence layers and the text normaliser. */
export * from './defenses/normalize-text/index.js';
export type { DefenseLayer, LayerVerdict, GuardContext, TraceEntry, Decision } from './defenses/layer.js';
export { validateLayer, parseImageBody, parseTextBody } from './defenses/validate/index.js';
export { queryPatternLayer } from './defenses/query-pattern/index.js';
export { fitOodDetector, saveOodDetector, loadOodDetector, oodLayer, OodDetector } from './defenses/ood/index.js';
export { ensembleLayer, type EnsembleMember } from './defenses/ensemble/index.js';
export { abstainLayer } from './defenses/abstain/index.js';
export { createRateLimits, registerRateLimits, addressGroup } from './defenses/rate-limit/index.js';
