/**
 * Stage `gate`: the candidate's results against the plan's criteria and, when there is
 * one, the production model's results; writes JUnit XML and a Markdown summary.
 */
import { join } from 'node:path';
import { writeTextFile } from '../../../core/files.js';
import { gateJunit } from '../../../report/junit.js';
import { gateMarkdown } from '../../../report/gate-markdown.js';
import { threatDetailsMarkdown } from '../../../report/threat-details.js';
import { evaluateGate, type GateResult } from '../../../eval/gate.js';
import type { EvaluationResults } from '../../../eval/results.js';
import type { Stage } from '../types.js';
import { filesExist } from './common.js';
import { evaluateRef } from './evaluate.js';

export interface GateOutputs {
  gate: GateResult;
  junit: string;
  markdown: string;
}

/** The key under `RunEnvironment.extras` holding the production model's results. */
export const PRODUCTION_RESULTS = 'productionResults';

export const gateStage: Stage<GateOutputs> = {
  id: 'gate',
  title: 'gate',
  version: 1,
  dependsOn: [evaluateRef.id],
  inputs: ({ plan, extras }) => ({ name: plan.name, criteria: plan.criteria, production: extras[PRODUCTION_RESULTS] ?? null }),
  async run(ctx) {
    const candidate = ctx.output(evaluateRef).results;
    const production = ctx.extras[PRODUCTION_RESULTS] as EvaluationResults | undefined;
    const gate = evaluateGate(ctx.plan.criteria, candidate, production);
    const junit = join(ctx.workDir, 'gate.xml');
    const markdown = join(ctx.workDir, 'gate.md');
    await writeTextFile(junit, gateJunit(gate, { name: ctx.plan.name, timestamp: new Date().toISOString() }));
    // How each threat was evaluated, targeted success and the defended stack follow the checks.
    const details = threatDetailsMarkdown(candidate);
    const summary = gateMarkdown(gate, { name: ctx.plan.name, candidate: candidate.model.name });
    await writeTextFile(markdown, details ? `${summary.trimEnd()}\n\n${details}\n` : summary);
    return { gate, junit: ctx.relative(junit), markdown: ctx.relative(markdown) };
  },
  stillValid: (o, ctx) => filesExist(ctx, [o.junit, o.markdown]),
};
