/**
 * A `rampart serve` endpoint describes its live model at `GET /v1/models` (input shape,
 * bounds, classes), so an HTTP target for one needs only its address and key: the rest of
 * the spec is read from the server. Other endpoints declare `inputShape` and `numClasses`.
 */
import { z } from 'zod';
import { DataError } from '../../core/errors.js';
import type { HttpTargetSpecInput } from './spec.js';
import { readCapped } from './transport.js';

/** What the discovery needs: the server (its base URL or its /v1/predict) and how to authenticate. */
export type ServeTargetInput = Omit<HttpTargetSpecInput, 'inputShape' | 'numClasses'> &
  Partial<Pick<HttpTargetSpecInput, 'inputShape' | 'numClasses'>>;

const modelsAnswer = z.object({
  models: z
    .array(
      z.object({
        kind: z.string(),
        inputShape: z.array(z.int().min(1)).min(1).max(4),
        bounds: z.object({ min: z.number(), max: z.number() }),
        classes: z.array(z.string()).min(2).max(100_000),
      }),
    )
    .min(1),
});

/**
 * Completes an HTTP target spec for a `rampart serve` endpoint from its `GET /v1/models`:
 * the predict URL, the input shape, the number of classes and the bounds (fields already
 * given win). Sends the credential the spec names; reads at most 1 MiB within `timeoutMs`.
 *
 * @throws DataError `E_TARGET_STATUS` / `E_TARGET_UNREACHABLE` / `E_TARGET_TIMEOUT` when the server does not answer,
 *   `E_TARGET_RESPONSE` when it is not a rampart serve of an image or tabular model.
 * @example const spec = await describeServeTarget({ url: 'http://127.0.0.1:8080', output: 'scores', authHeader: 'authorization',
 *   authEnv: 'RAMPART_KEY', authPrefix: 'Bearer ' }); const { classifier } = await loadHttpModel(spec);
 */
export async function describeServeTarget(input: ServeTargetInput): Promise<HttpTargetSpecInput> {
  const base = new URL(input.url);
  // The server's root: the given path without a trailing /v1/predict or slash (a URL object would put the slash back).
  const root = `${base.origin}${base.pathname.replace(/\/v1\/predict\/?$/, '').replace(/\/$/, '')}`;
  const modelsUrl = `${root}/v1/models`;
  const headers: Record<string, string> = { accept: 'application/json', ...(input.headers ?? {}) };
  const credential = input.authEnv ? process.env[input.authEnv] : undefined;
  if (input.authHeader && credential) headers[input.authHeader.toLowerCase()] = `${input.authPrefix ?? ''}${credential}`;
  const timeoutMs = input.timeoutMs ?? 10_000;
  let text: string;
  let status: number;
  try {
    const response = await fetch(modelsUrl, { headers, signal: AbortSignal.timeout(timeoutMs) });
    status = response.status;
    text = new TextDecoder().decode(await readCapped(response, 1024 * 1024, modelsUrl));
  } catch (error) {
    if (error instanceof DataError) throw error;
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    throw new DataError(
      timedOut ? 'E_TARGET_TIMEOUT' : 'E_TARGET_UNREACHABLE',
      `Cannot read ${modelsUrl} (${timedOut ? `no answer within ${timeoutMs} ms` : error instanceof Error ? error.message : String(error)}); ` +
        'check the address and that rampart serve runs there.',
      { cause: error, details: { url: modelsUrl } },
    );
  }
  if (status !== 200) {
    throw new DataError(
      'E_TARGET_STATUS',
      `${modelsUrl} answered HTTP ${status}: ${text.slice(0, 200)}` + (status === 401 ? ' (check authEnv and the key)' : ''),
      {
        details: { url: modelsUrl, status },
      },
    );
  }
  let parsed: z.infer<typeof modelsAnswer> | undefined;
  try {
    const checked = modelsAnswer.safeParse(JSON.parse(text));
    if (checked.success) parsed = checked.data;
  } catch {
    parsed = undefined;
  }
  const live = parsed?.models[0];
  if (!live || live.kind === 'text') {
    throw new DataError(
      'E_TARGET_RESPONSE',
      `${modelsUrl} does not describe an image or tabular model the way rampart serve does; declare inputShape and numClasses instead.`,
      { details: { url: modelsUrl } },
    );
  }
  return {
    ...input,
    url: `${root}/v1/predict`,
    inputShape: input.inputShape ?? live.inputShape,
    numClasses: input.numClasses ?? live.classes.length,
    bounds: input.bounds ?? live.bounds,
  };
}
