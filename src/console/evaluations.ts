/** Reading evaluation records for pages: the stored results JSON, parsed leniently and cached by digest (immutable). */
import { evaluationResultsSchema, type EvaluationResults } from '../eval/results.js';
import type { Governance } from '../governance/index.js';

const cache = new Map<string, EvaluationResults | null>();
const MAX_CACHED = 2000;

/** The results stored in evaluation `digest`, or null when it holds something else. */
export function evaluationResults(gov: Governance, digest: string): EvaluationResults | null {
  if (cache.has(digest)) return cache.get(digest) ?? null;
  let results: EvaluationResults | null = null;
  try {
    const parsed = evaluationResultsSchema.safeParse(gov.registry.readJson(digest));
    results = parsed.success ? parsed.data : null;
  } catch {
    // A non-JSON or missing blob is shown as "no results", not a failed page.
    results = null;
  }
  cache.set(digest, results);
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
  return results;
}

/** Tag names per digest (a digest can carry several). */
export function tagsByDigest(gov: Governance): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [tag, digest] of Object.entries(gov.registry.tags())) out.set(digest, [...(out.get(digest) ?? []), tag]);
  return out;
}
