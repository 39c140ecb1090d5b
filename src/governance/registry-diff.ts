/** Differences between two artifacts: meta and JSON content key by key, and files of directories. */
import { canonicalJson } from './canonical-json.js';
import type { Artifact, ArtifactDiff, Json, ManifestEntry, ValueChange } from './types.js';

const MAX_CONTENT_CHANGES = 500;
/** JSON content larger than this is not flattened for diffs. */
export const MAX_DIFF_BYTES = 8 * 1024 * 1024;

/** Flattens JSON to dotted leaf paths so two values can be compared key by key. */
function flatten(value: Json | undefined, prefix: string, out: Map<string, Json>): void {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length === 0) out.set(prefix, value);
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) {
    out.set(prefix, value);
  }
}

/** Leaf-by-leaf changes from `a` to `b` (the first 500; `truncated` says when there were more). */
export function compareJson(a: Json | undefined, b: Json | undefined): { changes: ValueChange[]; truncated: boolean } {
  const fa = new Map<string, Json>();
  const fb = new Map<string, Json>();
  flatten(a, '', fa);
  flatten(b, '', fb);
  const keys = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  const changes: ValueChange[] = [];
  let truncated = false;
  for (const path of keys) {
    const va = fa.get(path);
    const vb = fb.get(path);
    if (canonicalJson(va ?? null) === canonicalJson(vb ?? null) && fa.has(path) === fb.has(path)) continue;
    if (changes.length >= MAX_CONTENT_CHANGES) {
      truncated = true;
      break;
    }
    const change: ValueChange = { path, a: va, b: vb };
    // Rounded so 0.9 - 0.3 reads 0.6, not 0.6000000000000001.
    if (typeof va === 'number' && typeof vb === 'number') change.delta = Math.round((vb - va) * 1e12) / 1e12;
    changes.push(change);
  }
  return { changes, truncated };
}

/** How the diff reads what it compares: the JSON content of a blob, the files of a directory. */
export interface DiffSources {
  jsonContent(a: Artifact): Json | undefined;
  manifest(a: Artifact): readonly ManifestEntry[];
}

/** Meta and content differences between `a` and `b`; file digests for directories. */
export function diffArtifacts(a: Artifact, b: Artifact, sources: DiffSources): ArtifactDiff {
  const meta = compareJson(a.meta, b.meta).changes;
  const content = compareJson(sources.jsonContent(a), sources.jsonContent(b));
  const files: ArtifactDiff['files'] = [];
  if (a.storage === 'manifest' || b.storage === 'manifest') {
    const fa = new Map(a.storage === 'manifest' ? sources.manifest(a).map((f) => [f.path, f.digest]) : []);
    const fb = new Map(b.storage === 'manifest' ? sources.manifest(b).map((f) => [f.path, f.digest]) : []);
    for (const path of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
      const da = fa.get(path) ?? null;
      const db = fb.get(path) ?? null;
      if (da !== db) files.push({ path, a: da, b: db });
    }
  }
  return { a, b, meta, content: content.changes, files, sameContent: a.digest === b.digest, contentTruncated: content.truncated };
}
