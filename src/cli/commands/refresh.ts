/**
 * `rampart refresh`: the next candidate from the production model's plan plus every
 * adversarial set reviewed since, evaluated, gated and registered (tagged `candidate` when
 * the gate passes). Exit code 1 when the gate fails, like `rampart run`.
 */
import type { Command } from 'commander';
import { initEngine } from '../../engine/backend.js';
import { refresh } from '../../pipeline/refresh.js';
import { positiveNumber } from '../parse.js';
import { say } from '../output.js';
import { stageProgress } from './run.js';
import { addEngineFlags } from './shared.js';

interface RefreshFlags {
  dir: string;
  tag: string;
  setName?: string;
  weight: number;
  minAccuracy: number;
  backend?: string;
  quiet?: boolean;
}

export function registerRefresh(program: Command): void {
  addEngineFlags(
    program
      .command('refresh')
      .description(
        "Retrain the production model's plan with the attacks reviewed since, gate it (also on those attacks) and register the candidate.",
      )
      .option('--dir <path>', 'the .rampart directory (or $RAMPART_DIR)', process.env.RAMPART_DIR ?? '.rampart')
      .option('--tag <name>', 'the tag production serves', 'production')
      .option('--set-name <name>', 'name of the adversarial set built from newly confirmed attacks (default <plan>-confirmed)')
      .option('--weight <n>', 'times each confirmed attack is repeated per training epoch', positiveNumber('--weight'), 4)
      .option(
        '--min-accuracy <x>',
        'share of confirmed attacks the candidate must classify correctly (when the plan sets none)',
        positiveNumber('--min-accuracy'),
        0.8,
      ),
  ).action(async (flags: RefreshFlags) => {
    await initEngine(flags.backend === undefined ? {} : { backend: flags.backend });
    const r = await refresh({
      dir: flags.dir,
      tag: flags.tag,
      weight: flags.weight,
      minAccuracy: flags.minAccuracy,
      ...(flags.setName ? { setName: flags.setName } : {}),
      ...(flags.backend ? { backend: flags.backend } : {}),
      onEvent: stageProgress(flags.quiet === true),
    });
    const adv = r.run.candidate.results.adversarialSet;
    say(`refresh of ${r.plan.name} from production ${r.production.slice(0, 12)}: ${r.added.length} adversarial set(s) added`);
    if (adv) say(`confirmed attacks: ${(adv.accuracy * 100).toFixed(1)}% of ${adv.n} classified correctly`);
    say(`candidate ${r.candidate.slice(0, 12)}: gate ${r.passed ? 'passed (tagged candidate)' : 'FAILED'}`);
    for (const c of r.run.gate.checks.filter((check) => !check.passed)) say(`  ✗ ${c.message}`);
    if (!r.passed) process.exitCode = 1;
  });
}
