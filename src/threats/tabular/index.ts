/** Tabular constraints: the plan schema, compilation, projection, the checker and the threat. */
export { tabularConstraintsSchema, tabularNormSchema, type TabularConstraintsSpec, type TabularConstraintsConfig } from './schema.js';
export { compileConstraints, plainConstraints, type TabularConstraints, type FeatureSpace, type Direction } from './compile.js';
export { projectRows, projection, scaledNorm, scaledDistance, changeBox, type Projection } from './project.js';
export { checkRows, describeViolations, type ConstraintViolation, type ConstraintRule } from './check.js';
export { tabularThreat, isTabularThreat, constraintsOf, type TabularThreat } from './threat.js';
