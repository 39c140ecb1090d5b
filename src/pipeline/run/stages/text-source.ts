/**
 * Stage `text-attack` for a plan whose text filter is yours (`text.source`, the directory of
 * a text model Rampart saved): the filter is attacked as is, with no training stage before
 * it, and named by the digest of its files. Its inputs include that digest, so replacing the
 * filter reruns it.
 */
import { directoryDigest } from '../../../models/sources/load.js';
import type { Plan } from '../../plan/schema.js';
import type { Stage } from '../types.js';
import { attackSavedFilter, textAttackStage, textSection, type TextAttackOutputs } from './text.js';

function sourceOf(plan: Plan): string {
  const source = textSection(plan).source;
  if (source === undefined) throw new Error('the external text-attack stage is for plans with text.source');
  return source;
}

export const externalTextAttackStage: Stage<TextAttackOutputs> = {
  ...textAttackStage,
  title: 'text attack evaluation (your filter)',
  dependsOn: [],
  async inputs(env) {
    const path = sourceOf(env.plan);
    return { ...(textAttackStage.inputs(env) as object), source: { path, digest: await directoryDigest(path) } };
  },
  async run(ctx) {
    const path = sourceOf(ctx.plan);
    const sha256 = await directoryDigest(path);
    return { ...(await attackSavedFilter(ctx, path)), model: { source: path, sha256 } };
  },
};
