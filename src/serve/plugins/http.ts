/**
 * The HTTP edge every route shares: the strict JSON body parser, one error handler that
 * maps every failure to a status and a stable code (and tells a caller below the operator
 * role no more than the code), the coded 404, and request metrics.
 */
import type { FastifyInstance } from 'fastify';
import { RampartError, httpStatusFor } from '../../core/errors.js';
import { parseJsonBody } from '../body.js';
import { seesDetails } from '../disclosure.js';
import { servePlugin } from './plugin.js';

const FASTIFY_CODES: Record<string, { code: string; status: number; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'E_BODY_TOO_LARGE',
    status: 413,
    message: 'The request body is larger than the server accepts (limits.bodyBytes); send fewer examples per request.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'E_MEDIA_TYPE',
    status: 415,
    message: "Unsupported content type; send the body as 'application/json'.",
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'E_BODY_JSON', status: 400, message: 'The request body is empty; send a JSON object.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'E_BODY_LENGTH', status: 400, message: 'The Content-Length header does not match the body.' },
  FST_ERR_CTP_EMPTY_TYPE: { code: 'E_MEDIA_TYPE', status: 415, message: "Empty content type; send the body as 'application/json'." },
  FST_ERR_CTP_INVALID_TYPE: { code: 'E_MEDIA_TYPE', status: 415, message: "Invalid content type; send the body as 'application/json'." },
};

/** Maps any error to a status, a stable code and a message for the client. */
export function errorResponse(error: unknown): { status: number; code: string; message: string; details?: Record<string, unknown> } {
  if (error instanceof RampartError) {
    const status = httpStatusFor(error);
    return {
      status,
      code: error.code,
      message: error.message,
      ...(Object.keys(error.details).length > 0 && status < 500 ? { details: error.details } : {}),
    };
  }
  const e = error as { code?: unknown; statusCode?: unknown; message?: unknown };
  const known = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (known) return { status: known.status, code: known.code, message: known.message };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return { status: e.statusCode, code: 'E_BAD_REQUEST', message: String(e.message) };
  return { status: 500, code: 'E_INTERNAL', message: 'The server failed on this request; the error is in its log.' };
}

export const httpPlugin = servePlugin('rampart-http', { decorators: ['serveCore'] }, async (app: FastifyInstance) => {
  const { config, metrics } = app.serveCore;
  app.removeContentTypeParser(['application/json']);
  // Capture stores the bytes a client sent, parsed again in its writer thread (plugins/capture.ts).
  const keepRaw = config.capture !== false;
  app.decorateRequest('rawJson', null);
  // Strict UTF-8, bounded nesting, coded errors (see body.ts).
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      const parsed = parseJsonBody(body as Buffer, config.limits.maxDepth);
      if (keepRaw) req.rawJson = body as Buffer;
      done(null, parsed);
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error, req, reply) => {
    const r = errorResponse(error);
    if (r.status >= 500) req.log.error({ err: error }, 'request failed');
    const retry = r.details?.retryAfterSeconds;
    if (r.status === 429 && typeof retry === 'number') reply.header('retry-after', String(Math.max(1, Math.ceil(retry))));
    const full = seesDetails(config, req.principal);
    const trace = full ? req.trace : undefined;
    // A defence's refusal names the layer and its score in the message and details: operators only.
    const fromDefence = r.details !== undefined && 'layer' in r.details;
    const message = fromDefence && !full ? `A runtime defence refused the request (${r.code}).` : r.message;
    const details = fromDefence && !full ? (typeof retry === 'number' ? { retryAfterSeconds: retry } : undefined) : r.details;
    return reply
      .status(r.status)
      .send({ error: { code: r.code, message, ...(details ? { details } : {}) }, ...(trace && trace.length > 0 ? { trace } : {}) });
  });
  app.setNotFoundHandler((req, reply) => {
    return reply.status(404).send({
      error: {
        code: 'E_NOT_FOUND',
        message: `No route ${req.method} ${req.url.slice(0, 200)}; see GET /v1/models, POST /v1/predict, /healthz, /readyz, /metrics.`,
      },
    });
  });
});
