/**
 * `http:URL` model source: a model behind an HTTP endpoint loaded as a score or label target.
 * Its registry identity is the URL plus a fingerprint: the sha256 of its answers to a fixed,
 * seeded set of probe rows, so a different model behind the same URL is a different target.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { sizeOf } from '../../core/types.js';
import type { LoadedModel } from '../sources/types.js';
import { HttpClassifier } from './classifier.js';
import { parseHttpTargetSpec, type HttpTargetSpecInput } from './spec.js';
import { HttpTransport } from './transport.js';

export { HttpClassifier, type HttpTargetStats } from './classifier.js';
export { httpTargetSpecSchema, parseHttpTargetSpec, outputPathOf, type HttpTargetSpec, type HttpTargetSpecInput } from './spec.js';
export { queryBudgetOf, budgetedTarget, type QueryBudgeted } from './budget.js';
export { describeServeTarget, type ServeTargetInput } from './discover.js';

/** Fixed, so every load of the same endpoint sends the same probes. */
const PROBE_SEED = 0x5eed;
/** Answers are hashed at this many decimals: endpoints that round (rampart serve gives 4) still fingerprint stably. */
const FINGERPRINT_DECIMALS = 4;

/** A loaded HTTP target; `classifier` is the {@link HttpClassifier} with its query counts. */
export interface LoadedHttpModel extends LoadedModel {
  readonly classifier: HttpClassifier;
}

/**
 * Loads a model behind an HTTP endpoint: checks the spec, reads the credential from its
 * environment variable, and fingerprints the endpoint with `fingerprintProbes` queries
 * (counted in the classifier's stats like any other).
 *
 * @throws ConfigError `E_HTTP_TARGET_SPEC` for a bad spec, `E_HTTP_AUTH_ENV` when the credential's variable is unset.
 * @throws DataError `E_TARGET_*` when the endpoint cannot answer the probes (unreachable, bad status, bad answer).
 * @example
 * const { classifier } = await loadHttpModel({ url: 'http://127.0.0.1:8080/v1/predict', output: 'scores',
 *   inputShape: [28, 28, 1], numClasses: 10, authHeader: 'authorization', authEnv: 'RAMPART_KEY', authPrefix: 'Bearer ' });
 */
export async function loadHttpModel(input: HttpTargetSpecInput): Promise<LoadedHttpModel> {
  const spec = parseHttpTargetSpec(input);
  let credential: string | undefined;
  if (spec.authEnv !== undefined) {
    credential = process.env[spec.authEnv];
    if (credential === undefined || credential === '') {
      throw new ConfigError(
        'E_HTTP_AUTH_ENV',
        `The HTTP target reads its '${spec.authHeader}' header from the environment variable ${spec.authEnv}, which is not set; export it.`,
        { details: { authEnv: spec.authEnv } },
      );
    }
  }
  const classifier = new HttpClassifier(spec, new HttpTransport(spec, credential));
  const fingerprint = await fingerprintOf(classifier, spec.fingerprintProbes);
  const url = new URL(spec.url);
  // Userinfo in a URL is a credential; the identity must not carry it.
  url.username = '';
  url.password = '';
  return {
    classifier,
    source: 'http',
    identity: { kind: 'endpoint', url: url.toString(), fingerprint },
    dispose: () => classifier.dispose(),
  };
}

/** sha256 over the shape, the output kind and the rounded answers to the fixed probe rows. */
async function fingerprintOf(classifier: HttpClassifier, probes: number): Promise<string> {
  const rng = createRng(PROBE_SEED);
  const { min, max } = classifier.bounds;
  const rows = Float32Array.from({ length: probes * sizeOf(classifier.inputShape) }, () => min + rng.next() * (max - min));
  const answers = await classifier.queryScores(rows, probes);
  const scale = 10 ** FINGERPRINT_DECIMALS;
  const rounded = Array.from(answers, (v) => Math.round(v * scale) / scale);
  const text = JSON.stringify({ access: classifier.access, inputShape: classifier.inputShape, numClasses: classifier.numClasses, rounded });
  return createHash('sha256').update(text).digest('hex');
}
