/**
 * Which channels a validated plan has, and its image section in the form the stages read:
 * a model Rampart builds and hardens, or an external model evaluated as is. The schema has
 * already checked that each section is whole; these accessors only narrow the types.
 */
import { ConfigError } from '../../core/errors.js';
import type { ModelSourceSpec } from '../../models/sources/load.js';
import type { Plan } from './schema.js';

export type PlanChannel = 'image' | 'text' | 'tabular';

type Optimisation = NonNullable<NonNullable<Plan['model']>['baseline']>;

/** The image section of a plan whose model Rampart builds, trains and hardens. */
export interface BuiltImageSection {
  kind: 'built';
  data: NonNullable<Plan['data']>;
  architecture: NonNullable<NonNullable<Plan['model']>['architecture']>;
  baseline: Optimisation;
  training: NonNullable<Plan['training']>;
}

/** The image section of a plan that evaluates an external model as is. */
export interface ExternalImageSection {
  kind: 'external';
  data: NonNullable<Plan['data']>;
  source: ModelSourceSpec;
}

export type ImageSection = BuiltImageSection | ExternalImageSection;

/** The plan's image section, or undefined when it has none. */
export function imageSectionOf(plan: Plan): ImageSection | undefined {
  const { data, model, training } = plan;
  if (!data || !model) return undefined;
  if (model.source !== undefined) return { kind: 'external', data, source: model.source };
  if (model.architecture !== undefined && model.baseline !== undefined && training !== undefined)
    return { kind: 'built', data, architecture: model.architecture, baseline: model.baseline, training };
  return undefined;
}

/** The image section of a plan that builds its model; for the stages that only such plans run. */
export function builtImageSection(plan: Plan): BuiltImageSection {
  const section = imageSectionOf(plan);
  if (section?.kind !== 'built')
    throw new ConfigError(
      'E_PLAN_INVALID',
      `Plan '${plan.name}' has no image model for Rampart to train (data, model.architecture, training).`,
    );
  return section;
}

/** The image section, whatever its model; for the stages every image plan runs. */
export function requireImageSection(plan: Plan): ImageSection {
  const section = imageSectionOf(plan);
  if (!section) throw new ConfigError('E_PLAN_INVALID', `Plan '${plan.name}' has no image section (data and model).`);
  return section;
}

/** The plan's tabular section. */
export function requireTabularSection(plan: Plan): NonNullable<Plan['tabular']> {
  if (!plan.tabular) throw new ConfigError('E_PLAN_INVALID', `Plan '${plan.name}' has no tabular section.`);
  return plan.tabular;
}

/** The channels the plan has sections for, in the order the report shows them. */
export function planChannels(plan: Plan): PlanChannel[] {
  return [
    ...(imageSectionOf(plan) ? (['image'] as const) : []),
    ...(plan.tabular ? (['tabular'] as const) : []),
    ...(plan.text ? (['text'] as const) : []),
  ];
}
