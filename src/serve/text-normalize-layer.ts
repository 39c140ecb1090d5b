/**
 * The text-normalisation defence as a serving layer: rewrites each text through the
 * normalisation pipeline (`src/defenses/normalize-text`) before the model sees it, and
 * flags the request when an obfuscation stage fired (invisible characters, confusables,
 * combining marks, leetspeak, split words), since clean text rarely needs those.
 *
 * A model trained behind its own normalisation (the vocabulary defence a plan's
 * `normalize: vocabulary` deploys) applies it itself, since it must read text exactly as in
 * training; for such a model (`modelNormalization` gives its options) the layer reports and
 * flags with those options and leaves the text as sent, rather than rewriting it with the
 * default normaliser first and having it normalised twice, two different ways.
 */
import { normalizeTextWithReport, type NormalizeStage, type NormalizeTextOptions } from '../defenses/normalize-text/index.js';
import { spendBudget, type DefenseLayer, type GuardContext, type LayerVerdict } from '../defenses/layer.js';

const BENIGN: ReadonlySet<NormalizeStage> = new Set(['whitespace', 'nfkc']);

export function normalizeTextLayer(
  options: NormalizeTextOptions & { flag?: boolean } = {},
  modelNormalization: () => NormalizeTextOptions | undefined = () => undefined,
): DefenseLayer {
  const flag = options.flag ?? true;
  return {
    id: 'normalize-text',
    stage: 'input',
    check(ctx: GuardContext): LayerVerdict {
      if (!ctx.texts) return { decision: 'pass', reason: 'not a text request' };
      let changes = 0;
      const fired = new Set<NormalizeStage>();
      const flagged: number[] = [];
      let longWords = false;
      const own = modelNormalization();
      const reports = ctx.texts.map((text, i) => {
        spendBudget(ctx, `text ${i} of ${ctx.texts?.length ?? 0} in the normaliser`);
        const report = normalizeTextWithReport(text, own ?? options);
        for (const s of report.stages) changes += s.changes;
        const suspicious = report.fired.filter((s) => !BENIGN.has(s));
        // A word cut to the length budget is no natural word: flag it like an undone obfuscation.
        if (suspicious.length > 0 || report.longWordsCut > 0) flagged.push(i);
        for (const s of suspicious) fired.add(s);
        if (report.longWordsCut > 0) longWords = true;
        return report.text;
      });
      if (!own) ctx.texts = reports;
      if (!flag || (fired.size === 0 && !longWords)) return { decision: 'pass', score: changes };
      const reasons = [
        ...(fired.size > 0 ? [`obfuscation undone: ${[...fired].join(', ')}`] : []),
        ...(longWords ? ['over-long words cut'] : []),
      ];
      return { decision: 'flag', score: changes, examples: flagged, reason: reasons.join('; ') };
    },
  };
}
