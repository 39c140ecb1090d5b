/**
 * `buildConsole`: the operator console as a Fastify instance (its own listener, testable
 * with `inject`). Pages are rendered on the server from the registry; forms post changes
 * through the governance functions (audited compare-and-set tag moves, risk and
 * vulnerability status changes). Nothing here listens on a port; the CLI does.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { InputError } from '../core/errors.js';
import type { Governance } from '../governance/index.js';
import type { KeyStore, Role } from '../serve/auth.js';
import { errorResponse } from '../serve/plugins/http.js';
import { SnapshotStore } from '../serve/snapshots.js';
import { ASSET_TYPES, loadAssets } from './assets.js';
import { registerConsoleAuth } from './auth.js';
import { ChainVerifier } from './chain.js';
import type { ConsoleDeps, PageRequest } from './context.js';
import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';
import { registerChanges } from './changes.js';
import { registerReviewChanges } from './review-changes.js';
import { reviewPage } from './pages/review.js';
import { auditPage } from './pages/audit.js';
import { loginPage } from './pages/login.js';
import { modelPage, modelsPage } from './pages/models.js';
import { monitorPage } from './pages/monitor.js';
import { overviewPage } from './pages/overview.js';
import { risksPage } from './pages/risks.js';
import { comparePage, runsPage } from './pages/runs.js';
import { ReadModel } from './read-model.js';
import { SESSION_COOKIE } from './sessions.js';

export interface BuildConsoleOptions {
  /** The open registry (the CLI opens it with actor `rampart-console`). */
  gov: Governance;
  keys: KeyStore;
  /** A pino logger for failures (the CLI's, on stderr); default off. */
  logger?: FastifyBaseLogger;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const FORM_BYTES = 64 * 1024;

/** Parses a urlencoded form into strings (a repeated field becomes an array), bounded by the body limit. */
function parseForm(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/**
 * Builds the console on an open registry.
 *
 * @throws ConfigError `E_CONSOLE_ASSETS` when the bundled assets are missing.
 * @example const app = await buildConsole({ gov: openGovernance('.rampart'), keys: await KeyStore.fromFile('keys.json') });
 */
export async function buildConsole(options: BuildConsoleOptions): Promise<FastifyInstance> {
  const { gov } = options;
  const assets = loadAssets();
  const read = new ReadModel(gov.dir);
  const deps: ConsoleDeps = { gov, read, chain: new ChainVerifier(read), snapshots: new SnapshotStore(gov.dir) };
  void deps.chain.catchUp();
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger, disableRequestLogging: true } : { logger: false }),
    bodyLimit: FORM_BYTES,
    requestTimeout: 30_000,
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parseForm(body as string));
  });
  const auth = registerConsoleAuth(app, options.keys);
  app.addHook('onSend', async (_req, reply) => {
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  const pageRequest = (req: FastifyRequest): PageRequest => {
    const query = req.query as Record<string, string | undefined>;
    return {
      path: req.url.split('?')[0] ?? '/',
      principal: req.consolePrincipal as NonNullable<FastifyRequest['consolePrincipal']>,
      csrf: req.consoleSession?.csrf ?? '',
      query,
      ...(typeof query.done === 'string' ? { flash: query.done.slice(0, 300) } : {}),
    };
  };
  const send = (reply: FastifyReply, body: SafeHtml): FastifyReply => reply.type('text/html; charset=utf-8').send(body.value);
  const view = (role: Role, url: string, render: (req: FastifyRequest) => SafeHtml): void => {
    app.get(url, { config: { consoleRole: role } }, async (req, reply) => send(reply, render(req)));
  };
  app.get('/favicon.ico', async (_req, reply) => reply.status(204).send());

  view('operator', '/', (req) => overviewPage(deps, pageRequest(req)));
  view('operator', '/runs', (req) => runsPage(deps, pageRequest(req)));
  view('operator', '/runs/compare', (req) => {
    const d = (req.query as { d?: string | string[] }).d;
    const digests = (Array.isArray(d) ? d : d ? [d] : []).slice(0, 8);
    if (digests.length === 0) throw new InputError('E_CONSOLE_INPUT', 'Tick at least one run to compare (two or more to see differences).');
    return comparePage(deps, pageRequest(req), digests);
  });
  view('operator', '/runs/:digest', (req) => comparePage(deps, pageRequest(req), [(req.params as { digest: string }).digest]));
  view('operator', '/models', (req) => modelsPage(deps, pageRequest(req)));
  view('operator', '/models/:digest', (req) => modelPage(deps, pageRequest(req), (req.params as { digest: string }).digest));
  view('operator', '/risks', (req) => risksPage(deps, pageRequest(req)));
  view('operator', '/monitor', (req) => monitorPage(deps, pageRequest(req)));
  view('operator', '/audit', (req) => auditPage(deps, pageRequest(req)));
  view('operator', '/review', (req) => reviewPage(deps, pageRequest(req)));
  registerChanges(app, deps);
  registerReviewChanges(app, deps);
  // A run's stored HTML report (its adversarial examples inlined as images), sandboxed: no script runs, nothing loads.
  app.get('/reports/:digest', { config: { consoleRole: 'operator' } }, async (req, reply) => {
    const a = gov.registry.get((req.params as { digest: string }).digest);
    if (a.kind !== 'report' || a.mediaType !== 'text/html')
      throw new InputError('E_CONSOLE_INPUT', `${a.kind} '${a.name}' is not an HTML report.`);
    reply.header('content-security-policy', "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'");
    return reply.type('text/html; charset=utf-8').send(gov.registry.read(a.digest));
  });

  app.get('/login', async (req, reply) => send(reply, loginPage((req.query as { next?: string }).next)));
  app.post('/login', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const session = await auth.signIn(typeof body.key === 'string' ? body.key.trim() : '', req.ip);
    const next = typeof body.next === 'string' && /^\/[a-z0-9/_-]*$/i.test(body.next) ? body.next : '/';
    reply.header('set-cookie', `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Strict`);
    return reply.redirect(next, 303);
  });
  app.post('/logout', async (req, reply) => {
    auth.sessions.end(req.headers.cookie?.match(new RegExp(`${SESSION_COOKIE}=([^;]+)`))?.[1]);
    reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return reply.redirect('/login', 303);
  });
  app.get('/assets/:name', async (req, reply) => {
    const name = (req.params as { name: string }).name;
    const bytes = assets.get(name);
    if (!bytes) return reply.status(404).type('text/plain').send('no such asset');
    return reply
      .header('cache-control', 'public, max-age=3600')
      .type(ASSET_TYPES[name] as string)
      .send(bytes);
  });
  app.get('/healthz', async () => ({ ok: true }));

  app.setErrorHandler((error, req, reply) => {
    const r = errorResponse(error);
    if (r.status >= 500) req.log.error({ err: error }, 'console request failed');
    const wantsHtml = req.method === 'GET' && !req.headers.authorization && !req.headers['x-api-key'];
    if (wantsHtml && r.status === 401) return reply.redirect(`/login?next=${encodeURIComponent(req.url.split('?')[0] ?? '/')}`, 303);
    const body = html`<p class="error" role="alert">${r.message}</p>
      <p class="muted">${r.code}</p>
      <p><a href="/">Back to the overview</a></p>`;
    return reply
      .status(r.status)
      .type('text/html; charset=utf-8')
      .send(
        page(
          {
            title: r.status === 403 ? 'Not allowed' : 'Something went wrong',
            path: '',
            ...(req.consolePrincipal ? { principal: req.consolePrincipal } : {}),
          },
          body,
        ).value,
      );
  });
  app.setNotFoundHandler((req, reply) => {
    return reply
      .status(404)
      .type('text/html; charset=utf-8')
      .send(page({ title: 'Not found', path: '' }, html`<p>No page ${req.url.slice(0, 200)}. <a href="/">Overview</a></p>`).value);
  });
  app.addHook('onClose', async () => {
    deps.snapshots.close();
    read.close();
  });
  return app;
}
