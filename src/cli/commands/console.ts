/**
 * `rampart console`: the operator console on its own port, over a registry directory,
 * with the same keys file and roles as `rampart serve` (operator reads, admin changes).
 * Stops cleanly on SIGTERM/SIGINT.
 */
import type { Command } from 'commander';
import pino from 'pino';
import { openGovernance } from '../../governance/index.js';
import { buildConsole } from '../../console/app.js';
import { KeyStore } from '../../serve/auth.js';
import { wholeNumber } from '../parse.js';
import { say } from '../output.js';

interface ConsoleFlags {
  registry: string;
  keys: string;
  port: number;
  host: string;
}

export function registerConsole(program: Command): void {
  program
    .command('console')
    .description(
      'Serve the operator console: robustness overview, runs, models, risks, monitoring, the review queue and the audit log, in a browser.',
    )
    .option('--registry <dir>', 'governance directory to show', '.rampart')
    .requiredOption('--keys <file>', "API keys file, as for 'rampart serve' (operator reads, admin changes)")
    .option('--port <n>', 'TCP port (0 picks a free one)', wholeNumber('--port'), 8090)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .action(async (flags: ConsoleFlags) => {
      const keys = await KeyStore.fromFile(flags.keys);
      const gov = openGovernance(flags.registry, { mustExist: true, actor: process.env.RAMPART_ACTOR ?? 'rampart-console' });
      // Failures are JSON lines on stderr; stdout keeps the command's own lines.
      const logger = pino({ level: 'warn', base: { service: 'rampart-console' } }, pino.destination(2));
      const app = await buildConsole({ gov, keys, logger });
      const address = await app.listen({ port: flags.port, host: flags.host });
      say(`rampart console: listening on ${address} (registry ${gov.dir})`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          app.close().finally(() => {
            gov.close();
            resolve();
          });
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
