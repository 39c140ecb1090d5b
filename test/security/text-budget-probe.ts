/**
 * Child-process probe for `text-budget.test.ts`: sends the worst-case texts through the
 * normaliser and prints one JSON line per case (milliseconds, longest word out, heap growth).
 * Run in a child with a small heap, so a normaliser that expands a long word runs out of
 * memory there (a failed case) instead of taking the test runner down. Uses only the
 * normaliser's long-standing API, so the same probe runs against code from before the budgets.
 */
import { createTextNormalizer, normalizeTextWithReport } from '../../src/defenses/normalize-text/normalize.js';
import { worstCaseTexts } from './text-budget-cases.js';

const normalizers = { default: createTextNormalizer(), marked: createTextNormalizer({ markObfuscation: true, unknownWords: 'mask' }) };
// Loads the word lists before timing.
normalizeTextWithReport('warm up the lexicon and the spelling index');
for (const { name, text } of worstCaseTexts()) {
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const report = normalizeTextWithReport(text);
  const marked = normalizers.marked(text);
  normalizers.default(text);
  const ms = performance.now() - started;
  const longest = Math.max(0, ...[...report.text.matchAll(/\p{L}+/gu)].map((m) => Array.from(m[0]).length));
  const heapMb = Math.round((process.memoryUsage().heapUsed - heapBefore) / 1e6);
  const out = { name, ms: Math.round(ms), longest, marked: marked.slice(-200), heapMb };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
