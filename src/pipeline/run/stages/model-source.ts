/**
 * External models in a plan: stage `image-model` loads the image channel's `model.source`
 * once, checks it against the data, and records its identity (the digest of its files, or
 * its endpoint and probe fingerprint) for the registry. Its inputs include that identity, so
 * replacing the model file reruns everything that measured it.
 */
import { stat } from 'node:fs/promises';
import { directoryDigest, describeModelSource, loadModelSource, type ModelSourceSpec } from '../../../models/sources/load.js';
import type { LoadedModel, ModelIdentity } from '../../../models/sources/types.js';
import { requireImageSection } from '../../plan/channels.js';
import { fileDigest } from '../hash.js';
import type { Stage, StageContext } from '../types.js';
import { dataStage } from './data.js';

export interface SourceModelOutputs {
  /** `onnx:…`, `http://…`: where the model came from. */
  source: string;
  kind: ModelSourceSpec['kind'];
  identity: ModelIdentity;
  /** The digest the evaluation and registry name the model by: the file digest, or the endpoint's fingerprint. */
  sha256: string;
  inputShape: number[];
  numClasses: number;
  access: string;
}

/** The digest (or fingerprint) that names a loaded model. */
export function identityDigest(identity: ModelIdentity): string {
  return identity.kind === 'file' ? identity.digest : identity.fingerprint;
}

/**
 * What decides a source's cache entry without loading it: the digest of its file or
 * directory; an endpoint is named by its spec (its answers are fingerprinted when loaded).
 */
export async function sourceCacheKey(spec: ModelSourceSpec): Promise<unknown> {
  if (spec.kind === 'http') return { spec };
  const info = await stat(spec.path).catch(() => undefined);
  if (!info) return { spec, missing: true };
  return { spec, digest: info.isDirectory() ? await directoryDigest(spec.path) : await fileDigest(spec.path) };
}

/** The outputs that describe a loaded model. */
export function describeLoaded(spec: ModelSourceSpec, loaded: LoadedModel): SourceModelOutputs {
  const c = loaded.classifier;
  return {
    source: describeModelSource(spec),
    kind: spec.kind,
    identity: loaded.identity,
    sha256: identityDigest(loaded.identity),
    inputShape: [...c.inputShape],
    numClasses: c.numClasses,
    access: c.access ?? (c.differentiable ? 'gradients' : 'scores'),
  };
}

/** Loads the image channel's external model; the caller disposes it. */
export function loadImageSource(ctx: Pick<StageContext, 'plan'>): Promise<LoadedModel> {
  const section = requireImageSection(ctx.plan);
  if (section.kind !== 'external') throw new Error('loadImageSource is for plans with model.source');
  return loadModelSource(section.source);
}

export const imageModelStage: Stage<SourceModelOutputs> = {
  id: 'image-model',
  title: 'image model (external)',
  version: 1,
  dependsOn: [dataStage.id],
  async inputs({ plan }) {
    const section = requireImageSection(plan);
    return section.kind === 'external' ? sourceCacheKey(section.source) : null;
  },
  async run(ctx) {
    const section = requireImageSection(ctx.plan);
    if (section.kind !== 'external') throw new Error('the image-model stage is for plans with model.source');
    ctx.progress(0, 1, 'loading');
    const loaded = await loadModelSource(section.source);
    try {
      const out = describeLoaded(section.source, loaded);
      ctx.log(`${out.source}: input [${out.inputShape.join(', ')}], ${out.numClasses} classes, access ${out.access}`);
      ctx.progress(1, 1, 'loaded');
      return out;
    } finally {
      loaded.dispose();
    }
  },
};
