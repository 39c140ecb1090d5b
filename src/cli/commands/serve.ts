/**
 * `rampart serve`: the guarded model server on a port. A thin shell over `buildServer`:
 * pick the model source, read keys and configuration, listen, and on SIGTERM/SIGINT stop
 * accepting connections, drain the requests in flight, and exit 0. Draining has a deadline
 * (`timeouts.drainMs`): connections still open then (a client trickling a body, say) are
 * closed, so a stuck client cannot keep the process from stopping.
 */
import type { Command } from 'commander';
import pino from 'pino';
import { UsageError } from '../../core/errors.js';
import { initEngine } from '../../engine/backend.js';
import { openGovernance } from '../../governance/index.js';
import { buildServer } from '../../serve/app.js';
import { KeyStore } from '../../serve/auth.js';
import { parseServeConfig, readServeConfig } from '../../serve/config.js';
import { directorySource, registrySource, type ModelSource } from '../../serve/model-source.js';
import { wholeNumber } from '../parse.js';
import { say } from '../output.js';

interface ServeFlags {
  model?: string;
  fallback?: string[];
  registry?: string;
  tag: string;
  port: number;
  host: string;
  keys?: string;
  config?: string;
  probes?: string;
  auditLog?: string;
  logLevel: string;
  backend?: string;
  snapshotSeconds: number;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve a model over HTTP behind layered runtime defences, with metrics, drift monitoring, canary probes and automated rollback.',
    )
    .option('--model <dir>', 'serve this saved model directory')
    .option('--fallback <dir>', 'a model directory to roll back to (repeatable; the first is restored first)', collect)
    .option('--registry <dir>', 'serve the model a registry tag points to, from this governance directory (e.g. .rampart)')
    .option('--tag <name>', 'registry tag to serve', 'production')
    .option('--port <n>', 'TCP port (0 picks a free one)', wholeNumber('--port'), 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--keys <file>', "API keys file (create with 'rampart keys add'); without it predict is open and admin routes are off")
    .option('--config <file>', 'YAML or JSON with layers, thresholds, monitor, canary, rollback and alerts')
    .option('--probes <file>', "stored adversarial probe set for the canary ('rampart attack --save-examples' output)")
    .option('--audit-log <file>', 'with --model: append promotions and rollbacks to this JSONL file')
    .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug', 'info')
    .option('--backend <name>', 'TF.js backend: wasm, cpu or tensorflow')
    .option(
      '--snapshot-seconds <n>',
      'with --registry: store a metrics snapshot for the console every N seconds',
      wholeNumber('--snapshot-seconds', 1),
      30,
    )
    .action(async (flags: ServeFlags) => {
      if ((flags.model === undefined) === (flags.registry === undefined)) {
        throw new UsageError(
          'E_MISSING_FLAG',
          'Give exactly one model source: --model DIR (a saved model) or --registry DIR --tag NAME (a registry tag).',
        );
      }
      const config = flags.config ? await readServeConfig(flags.config) : parseServeConfig({});
      if (flags.probes) {
        if (config.canary === false)
          throw new UsageError('E_FLAG_CONFLICT', '--probes needs the canary on; remove canary: false from the configuration.');
        config.canary.probes = flags.probes;
      }
      const keys = flags.keys ? await KeyStore.fromFile(flags.keys) : undefined;
      await initEngine(flags.backend === undefined ? {} : { backend: flags.backend });
      // Logs are JSON lines on stderr; stdout keeps the command's own lines.
      const logger = pino({ level: flags.logLevel, base: { service: 'rampart-serve' } }, pino.destination(2));
      const source: ModelSource = flags.model
        ? directorySource({
            dir: flags.model,
            ...(flags.fallback ? { fallbacks: flags.fallback } : {}),
            ...(flags.auditLog ? { auditLog: flags.auditLog } : {}),
          })
        : registrySource({
            governance: openGovernance(flags.registry as string, { mustExist: true, actor: process.env.RAMPART_ACTOR ?? 'rampart-serve' }),
            tag: flags.tag,
          });
      const snapshots = flags.registry ? { dir: flags.registry, everyMs: flags.snapshotSeconds * 1000 } : undefined;
      const app = await buildServer({
        source,
        config,
        ...(keys ? { keys } : {}),
        ...(flags.registry ? { captureDir: flags.registry } : {}),
        ...(snapshots ? { snapshots } : {}),
        logger,
      });
      if (!keys)
        logger.warn(
          { event: 'auth-off' },
          'no --keys: predict is open to anyone who can reach the port; operator and admin routes are disabled',
        );
      const address = await app.listen({ port: flags.port, host: flags.host });
      say(
        `rampart serve: listening on ${address} (model ${app.rampart.holder.current.view.id}; layers ${app.rampart.layers.map((l) => l.id).join(', ')})`,
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          logger.info({ event: 'shutdown', signal, inFlight: app.rampart.holder.inFlight() }, 'draining requests');
          let forced = false;
          const deadline = setTimeout(() => {
            forced = true;
            logger.warn(
              { event: 'drain-deadline', drainMs: config.timeouts.drainMs, inFlight: app.rampart.holder.inFlight() },
              'drain deadline passed; closing the remaining connections',
            );
            app.server.closeAllConnections();
          }, config.timeouts.drainMs);
          deadline.unref();
          app.close().then(
            () => {
              clearTimeout(deadline);
              say(`rampart serve: stopped (${signal}${forced ? `, connections closed after ${config.timeouts.drainMs} ms` : ''})`);
              resolve();
            },
            (error: unknown) => {
              clearTimeout(deadline);
              logger.error({ event: 'shutdown-failed', error: String(error) }, 'shutdown failed');
              process.exitCode = 1;
              resolve();
            },
          );
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
