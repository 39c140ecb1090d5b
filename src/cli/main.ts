#!/usr/bin/env node
/**
 * The `rampart` command. A thin shell: parse flags, call the library, print, and map
 * errors to exit codes (2 when the command line must change, 1 when the work failed).
 */
import { Command, CommanderError } from 'commander';
import { RampartError, exitCodeFor } from '../core/errors.js';
import { RAMPART_VERSION } from '../core/version.js';
import { registerAttack } from './commands/attack.js';
import { registerEval } from './commands/eval.js';
import { registerExample } from './commands/example.js';
import { registerTrain } from './commands/train.js';
import { registerRegistry } from './commands/registry.js';
import { registerRisk } from './commands/risk.js';
import { registerVuln } from './commands/vuln.js';
import { registerAudit } from './commands/audit.js';
import { registerRun } from './commands/run.js';
import { registerGate } from './commands/gate.js';
import { registerReport } from './commands/report.js';
import { registerServe } from './commands/serve.js';
import { registerKeys } from './commands/keys.js';
import { registerExplain } from './commands/explain.js';
import { registerModel } from './commands/model.js';
import { registerWorker } from './commands/worker.js';
import { registerConsole } from './commands/console.js';
import { registerReview } from './commands/review.js';
import { registerRefresh } from './commands/refresh.js';

export function buildProgram(): Command {
  const program = new Command('rampart')
    .description('Adversarial robustness for ML models on Node.js: train, attack, evaluate.')
    .version(RAMPART_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerTrain(program);
  registerAttack(program);
  registerEval(program);
  registerExample(program);
  registerRegistry(program);
  registerRisk(program);
  registerVuln(program);
  registerAudit(program);
  registerRun(program);
  registerGate(program);
  registerReport(program);
  registerServe(program);
  registerKeys(program);
  registerExplain(program);
  registerModel(program);
  registerWorker(program);
  registerConsole(program);
  registerReview(program);
  registerRefresh(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version are not failures; every other parse problem is a usage error.
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
  }
  if (error instanceof RampartError) {
    process.stderr.write(`rampart: error ${error.code}: ${error.message}\n`);
    if (process.env.RAMPART_DEBUG && error.stack) process.stderr.write(`${error.stack}\n`);
  } else {
    process.stderr.write(`rampart: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  return exitCodeFor(error);
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

await main();
