/**
 * The small JSON path subset an HTTP target's mapping uses: `$`, `.name`, `['name']`, `[3]`
 * and, in output paths, one `[*]` (one value per row). Enough to say "the rows go in
 * `$.inputs`" and "row i's scores are `$.predictions[i].probabilities`", nothing to evaluate.
 */

export type PathSegment = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'each' };

const SEGMENT = /^(?:\.([A-Za-z_$][\w$-]*)|\['((?:[^'\\]|\\.)*)'\]|\[(\d{1,9})\]|\[\*\])/;

/**
 * Parses a path such as `$.predictions[*].probabilities`; returns undefined when it is not one.
 *
 * @example parseJsonPath('$.data[0].scores');
 * // [{ kind: 'key', key: 'data' }, { kind: 'index', index: 0 }, { kind: 'key', key: 'scores' }]
 */
export function parseJsonPath(path: string): PathSegment[] | undefined {
  if (!path.startsWith('$') || path.length > 500) return undefined;
  const out: PathSegment[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    const m = SEGMENT.exec(rest);
    if (!m) return undefined;
    if (m[1] !== undefined) out.push({ kind: 'key', key: m[1] });
    else if (m[2] !== undefined) out.push({ kind: 'key', key: m[2].replace(/\\(.)/g, '$1') });
    else if (m[3] !== undefined) out.push({ kind: 'index', index: Number(m[3]) });
    else out.push({ kind: 'each' });
    rest = rest.slice(m[0].length);
  }
  return out;
}

/** Formats segments back into a path, with a concrete row index in place of `[*]` when given. */
export function formatJsonPath(segments: readonly PathSegment[], row?: number): string {
  return (
    '$' +
    segments
      .map((s) =>
        s.kind === 'key'
          ? /^[A-Za-z_$][\w$-]*$/.test(s.key)
            ? `.${s.key}`
            : `['${s.key.replace(/['\\]/g, '\\$&')}']`
          : s.kind === 'index'
            ? `[${s.index}]`
            : row === undefined
              ? '[*]'
              : `[${row}]`,
      )
      .join('')
  );
}

/**
 * Returns a copy of `template` with `value` placed at `segments` (no `[*]`), creating objects
 * and arrays on the way. The template itself is not changed.
 */
export function withValueAt(template: unknown, segments: readonly PathSegment[], value: unknown): unknown {
  const [head, ...rest] = segments;
  if (!head) return value;
  if (head.kind === 'index') {
    const array = Array.isArray(template) ? [...(template as unknown[])] : [];
    while (array.length < head.index) array.push(null);
    array[head.index] = withValueAt(array[head.index], rest, value);
    return array;
  }
  if (head.kind === 'each') throw new Error('withValueAt: [*] is for output paths');
  const object = typeof template === 'object' && template !== null && !Array.isArray(template) ? { ...(template as object) } : {};
  (object as Record<string, unknown>)[head.key] = withValueAt((object as Record<string, unknown>)[head.key], rest, value);
  return object;
}

/** Why a path did not resolve: the prefix that did, and what was found there. */
export interface PathMiss {
  at: string;
  found: string;
}

/** The JSON type of a value, for error messages. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}

/**
 * The value of each row at an output path: with `[*]`, one per element of the array there;
 * without, the value at the path must itself be the array of rows.
 */
export function rowsAt(document: unknown, segments: readonly PathSegment[]): { rows: unknown[] } | { miss: PathMiss } {
  const star = segments.findIndex((s) => s.kind === 'each');
  const head = star < 0 ? segments : segments.slice(0, star);
  const tail = star < 0 ? [] : segments.slice(star + 1);
  const base = valueAt(document, head);
  if ('miss' in base) return base;
  if (!Array.isArray(base.value)) return { miss: { at: formatJsonPath(head), found: jsonTypeOf(base.value) } };
  if (star < 0) return { rows: base.value };
  const rows: unknown[] = [];
  for (let i = 0; i < base.value.length; i++) {
    const v = valueAt(base.value[i], tail);
    if ('miss' in v) return { miss: { at: formatJsonPath(segments, i), found: v.miss.found } };
    rows.push(v.value);
  }
  return { rows };
}

function valueAt(document: unknown, segments: readonly PathSegment[]): { value: unknown } | { miss: PathMiss } {
  let current = document;
  for (const [k, s] of segments.entries()) {
    const next =
      s.kind === 'key' && typeof current === 'object' && current !== null && !Array.isArray(current) && Object.hasOwn(current, s.key)
        ? (current as Record<string, unknown>)[s.key]
        : s.kind === 'index' && Array.isArray(current) && s.index < current.length
          ? current[s.index]
          : undefined;
    if (next === undefined) return { miss: { at: formatJsonPath(segments.slice(0, k + 1)), found: `missing in ${jsonTypeOf(current)}` } };
    current = next;
  }
  return { value: current };
}
