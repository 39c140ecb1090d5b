/** `rampart gate`: a candidate's results against a plan's criteria and production's results; exit 0 or 1. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeTextFile } from '../../core/files.js';
import { openGovernance } from '../../governance/index.js';
import { evaluateGate } from '../../eval/gate.js';
import { loadPlan } from '../../pipeline/plan/load.js';
import { evaluationResultsSchema, loadResults, type EvaluationResults } from '../../eval/results.js';
import { productionResultsFrom } from '../../pipeline/run/stages/register.js';
import { UsageError } from '../../core/errors.js';
import { gateJunit } from '../../report/junit.js';
import { gateMarkdown } from '../../report/gate-markdown.js';
import { say } from '../output.js';

interface GateFlags {
  plan?: string;
  candidate?: string;
  baseline?: string;
  junit?: string;
  markdown?: string;
  dir: string;
}

/** The production model's stored results, when `dir` holds a registry with a `production` tag. */
function productionFromRegistry(dir: string): EvaluationResults | undefined {
  if (!existsSync(join(dir, 'rampart.db'))) return undefined;
  const gov = openGovernance(dir, { mustExist: true });
  try {
    const found = productionResultsFrom(gov);
    const parsed = found ? evaluationResultsSchema.safeParse(found.results) : undefined;
    return parsed?.success ? parsed.data : undefined;
  } finally {
    gov.close();
  }
}

export function registerGate(program: Command): void {
  program
    .command('gate')
    .description(
      "Check a candidate's results against the plan's criteria and the production model's results. Exit 0 when every check passes, 1 otherwise.",
    )
    .option('--plan <file>', 'the plan whose criteria apply (rampart.yaml)')
    .option('--candidate <results.json>', "the candidate's results, e.g. .rampart/runs/<plan>/results.json")
    .option('--baseline <results.json>', "production's results (default: the registry model tagged 'production', if any)")
    .option('--junit <file>', 'write JUnit XML here')
    .option('--markdown <file>', 'write a Markdown summary here')
    .option('--dir <dir>', 'the registry to read production results from', '.rampart')
    .action(async (flags: GateFlags) => {
      if (!flags.plan) throw new UsageError('E_MISSING_FLAG', 'Give the plan with --plan FILE (its criteria are what the gate checks).');
      if (!flags.candidate)
        throw new UsageError(
          'E_MISSING_FLAG',
          "Give the candidate's results with --candidate FILE (results.json written by 'rampart run').",
        );
      const plan = await loadPlan(flags.plan);
      const candidate = await loadResults(flags.candidate);
      const production = flags.baseline !== undefined ? await loadResults(flags.baseline) : productionFromRegistry(flags.dir);
      const gate = evaluateGate(plan.criteria, candidate, production);
      if (flags.junit) await writeTextFile(flags.junit, gateJunit(gate, { name: plan.name, timestamp: new Date().toISOString() }));
      const markdown = gateMarkdown(gate, { name: plan.name, candidate: candidate.model.name });
      if (flags.markdown) await writeTextFile(flags.markdown, markdown);
      for (const c of gate.checks)
        say(`${c.status === 'passed' ? 'pass   ' : c.status === 'skipped' ? 'skipped' : 'FAIL   '} ${c.id}: ${c.message}`);
      say(
        `gate ${gate.passed ? 'PASSED' : 'FAILED'}: ${gate.checks.filter((c) => c.passed).length}/${gate.checks.length} checks${production ? ` (compared with production ${production.model.name})` : ''}`,
      );
      if (!gate.passed) process.exitCode = 1;
    });
}
