/** Canonical JSON (sorted keys, no whitespace) so equal values always hash the same. */
import { createHash } from 'node:crypto';
import { RegistryError } from '../core/errors.js';

/**
 * Serialises `value` with object keys sorted at every level. `undefined` members are
 * dropped (as JSON.stringify does); non-finite numbers are refused because JSON cannot
 * carry them and a hash over 'null' would hide the difference.
 *
 * @throws RegistryError `E_REGISTRY_INPUT` for NaN/Infinity, bigint, functions or cycles.
 */
export function canonicalJson(value: unknown): string {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string): string => {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return JSON.stringify(v);
      case 'number':
        if (!Number.isFinite(v))
          throw new RegistryError(
            'E_REGISTRY_INPUT',
            `Cannot store ${String(v)} at '${path || '$'}' as JSON; use a finite number or null.`,
            { details: { path } },
          );
        return JSON.stringify(v);
      case 'object': {
        if (seen.has(v))
          throw new RegistryError('E_REGISTRY_INPUT', `Cannot store a cyclic value at '${path || '$'}' as JSON.`, { details: { path } });
        const toJson = (v as { toJSON?: () => unknown }).toJSON;
        if (typeof toJson === 'function') return walk(toJson.call(v), path);
        seen.add(v);
        let out: string;
        if (Array.isArray(v)) {
          out = `[${v.map((x, i) => (x === undefined || typeof x === 'function' ? 'null' : walk(x, `${path}[${i}]`))).join(',')}]`;
        } else {
          const keys = Object.keys(v).sort();
          const parts: string[] = [];
          for (const k of keys) {
            const x = (v as Record<string, unknown>)[k];
            if (x === undefined || typeof x === 'function') continue;
            parts.push(`${JSON.stringify(k)}:${walk(x, path ? `${path}.${k}` : k)}`);
          }
          out = `{${parts.join(',')}}`;
        }
        seen.delete(v);
        return out;
      }
      default:
        throw new RegistryError('E_REGISTRY_INPUT', `Cannot store a ${typeof v} at '${path || '$'}' as JSON.`, { details: { path } });
    }
  };
  return walk(value, '');
}

/** Lower-case hex sha256 of bytes or a UTF-8 string. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
