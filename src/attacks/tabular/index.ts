/** Tabular attacks: constrained PGD/APGD, LowProFool and a score-based random search, with their wrapper. */
export { tabularPgd, tabularApgd, tabularPgdAttack, tabularApgdAttack, tabularPgdOptions, tabularApgdOptions } from './pgd.js';
export type { TabularPgdOptions, TabularApgdOptions } from './pgd.js';
export { lowProFool, lowProFoolAttack, lowProFoolOptions, type LowProFoolOptions, type LowProFoolConfig } from './lowprofool.js';
export {
  tabularRandomSearch,
  tabularRandomSearchAttack,
  tabularRandomSearchOptions,
  type TabularRandomSearchOptions,
  type TabularRandomSearchConfig,
} from './random-search.js';
export { wrapTabularAttack, type TabularContext, type TabularSearch } from './wrapper.js';
