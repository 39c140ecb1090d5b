/** `rampart report`: rebuild a run's HTML report from its stage records (no model work). */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DataError } from '../../core/errors.js';
import { writeTextFile } from '../../core/files.js';
import { loadPlan } from '../../pipeline/plan/load.js';
import { planStages } from '../../pipeline/run/run-plan.js';
import { stageRecordPath } from '../../pipeline/run/runner.js';
import { reportData } from '../../pipeline/run/stages/report.js';
import type { StageContext, StageRecord } from '../../pipeline/run/types.js';
import { renderHtmlReport } from '../../report/html/report.js';
import { say } from '../output.js';

interface ReportFlags {
  dir: string;
  out?: string;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description("Rebuild the HTML report of a plan's last run from its stage records.")
    .argument('<plan>', 'the plan file the run used')
    .option('--dir <dir>', 'where runs live', '.rampart')
    .option('--out <file>', 'where to write the HTML (default: <dir>/runs/<plan>/report.html)')
    .action(async (planPath: string, flags: ReportFlags) => {
      const plan = await loadPlan(planPath);
      const runDir = resolve(flags.dir, 'runs', plan.name);
      const records: Record<string, StageRecord> = {};
      // The plan's own stages (only its channels'); the report and registry stages are not needed to rebuild the report.
      const order = planStages(plan, { governance: true }).map((s) => s.id);
      const optional = new Set(['report', 'register']);
      for (const id of order) {
        try {
          records[id] = JSON.parse(await readFile(stageRecordPath(runDir, id), 'utf8')) as StageRecord;
        } catch (error) {
          if (!optional.has(id)) {
            throw new DataError('E_RUN_INCOMPLETE', `No finished '${id}' stage in ${runDir}; run 'rampart run ${planPath}' first.`, {
              cause: error,
              details: { runDir, stage: id },
            });
          }
        }
      }
      const ctx = {
        plan,
        runDir,
        resolve: (p: string) => (p.startsWith('/') ? p : join(runDir, p)),
        output: <T>(ref: { id: string }): T => {
          const record = records[ref.id];
          if (!record) throw new DataError('E_RUN_INCOMPLETE', `No finished '${ref.id}' stage in ${runDir}.`);
          return record.outputs as T;
        },
      } as unknown as StageContext;
      const data = await reportData(ctx);
      data.stages = order
        .filter((id) => records[id])
        .map((id) => ({
          id,
          title: id,
          status: `finished ${records[id]?.finishedAt ?? ''}`,
          ranForMs: records[id]?.durationMs ?? 0,
        }));
      const out = flags.out ?? join(runDir, 'report.html');
      await writeTextFile(out, renderHtmlReport(data));
      say(`report: ${out}`);
    });
}
