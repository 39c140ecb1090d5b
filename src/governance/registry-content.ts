/**
 * What goes into and comes out of the blob store for an artifact: reading a file, a
 * directory, bytes or JSON into blobs (with a media type), the canonical manifest of a
 * directory, and writing an artifact back to disk.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, sep } from 'node:path';
import { RampartError, RegistryError } from '../core/errors.js';
import { tempPathFor, writeFileAtomicSync } from '../core/files.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import type { ObjectStore } from './objects.js';
import { RegistryStorageError } from './storage-error.js';
import type { Artifact, Json, ManifestEntry, PutInput } from './types.js';

/** An artifact's content, read and hashed, before it is stored. */
export interface PreparedContent {
  bytes?: Buffer;
  files?: Array<ManifestEntry & { bytes: Buffer }>;
  storage: 'blob' | 'manifest';
  mediaType: string;
}

const MEDIA_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.md': 'text/markdown',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.html': 'text/html',
  '.xml': 'application/xml',
  '.txt': 'text/plain',
  '.csv': 'text/plain',
  '.jsonl': 'text/plain',
};

function mediaTypeFor(path: string): string {
  return MEDIA_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

function walkFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.isFile()) out.push(full);
      else {
        throw new RegistryError(
          'E_REGISTRY_INPUT',
          `Cannot store ${full}: only regular files and folders go into a directory artifact (no symlinks or devices).`,
          {
            details: { path: full },
          },
        );
      }
    }
  };
  visit(root);
  return out;
}

/**
 * Reads exactly one of `path`, `json` or `bytes` into blob bytes or a file manifest.
 *
 * @throws RegistryError `E_REGISTRY_INPUT` for none or several sources, a missing path, a special file or an empty directory.
 */
export function prepareContent(input: PutInput): PreparedContent {
  const given = (['path', 'json', 'bytes'] as const).filter((k) => input[k] !== undefined);
  if (given.length !== 1) {
    const got = given.length === 0 ? 'none' : given.map((g) => `'${g}'`).join(' and ');
    throw new RegistryError(
      'E_REGISTRY_INPUT',
      `registry.put needs exactly one of 'path', 'json' or 'bytes' for '${input.name}'; got ${got}.`,
      {
        details: { name: input.name, given },
      },
    );
  }
  if (input.json !== undefined)
    return { bytes: Buffer.from(canonicalJson(input.json)), storage: 'blob', mediaType: input.mediaType ?? 'application/json' };
  if (input.bytes !== undefined) {
    const text = typeof input.bytes === 'string';
    return {
      bytes: Buffer.from(input.bytes as string | Uint8Array),
      storage: 'blob',
      mediaType: input.mediaType ?? (text ? 'text/plain' : 'application/octet-stream'),
    };
  }
  const path = input.path as string;
  let stat;
  try {
    stat = lstatSync(path);
  } catch (error) {
    throw new RegistryError('E_REGISTRY_INPUT', `Cannot store '${path}' as ${input.kind} '${input.name}': no such file or directory.`, {
      cause: error,
      details: { path },
    });
  }
  if (stat.isFile()) return { bytes: readFileSync(path), storage: 'blob', mediaType: input.mediaType ?? mediaTypeFor(path) };
  if (!stat.isDirectory())
    throw new RegistryError('E_REGISTRY_INPUT', `Cannot store '${path}': it is neither a regular file nor a directory.`, {
      details: { path },
    });
  const files = walkFiles(path).map((full) => {
    const bytes = readFileSync(full);
    return { path: relative(path, full).split(sep).join('/'), digest: sha256Hex(bytes), size: bytes.byteLength, bytes };
  });
  if (files.length === 0)
    throw new RegistryError('E_REGISTRY_INPUT', `Cannot store the empty directory '${path}' as ${input.kind} '${input.name}'.`, {
      details: { path },
    });
  return { files, storage: 'manifest', mediaType: input.mediaType ?? 'inode/directory' };
}

/** The canonical manifest of a directory artifact; its sha256 is the artifact's digest. */
export function manifestBytes(files: readonly ManifestEntry[]): Buffer {
  return Buffer.from(canonicalJson({ files: files.map((f) => ({ path: f.path, digest: f.digest, size: f.size })) }));
}

/** Writes prepared content to the blob store; returns the artifact's digest and size. */
export function storeContent(objects: ObjectStore, content: PreparedContent): { digest: string; size: number } {
  if (content.storage === 'blob') {
    const bytes = content.bytes as Buffer;
    return { digest: objects.write(bytes), size: bytes.byteLength };
  }
  const files = content.files as Array<ManifestEntry & { bytes: Buffer }>;
  for (const f of files) objects.write(f.bytes);
  return { digest: objects.write(manifestBytes(files)), size: files.reduce((s, f) => s + f.size, 0) };
}

/** Meta and similar inputs as a plain JSON object. */
export function jsonObject(value: unknown, what: string): Record<string, Json> {
  const parsed = JSON.parse(canonicalJson(value ?? {})) as unknown;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new RegistryError(
      'E_REGISTRY_INPUT',
      `${what} must be a JSON object; got ${Array.isArray(parsed) ? 'an array' : typeof parsed}.`,
    );
  }
  return parsed as Record<string, Json>;
}

/**
 * Writes an artifact back to `out`: a blob to the file, a directory's files into the folder.
 * Every byte is read and checked before anything is written, so a corrupt store writes
 * nothing; a new directory is assembled beside `out` and renamed into place, so a reader
 * (a serving cache, say) never sees half a model.
 *
 * @throws RegistryError `E_REGISTRY_CORRUPT` for an unsafe path or a file list that no longer matches the digest;
 *   RegistryStorageError `E_REGISTRY_WRITE` when the disk refuses the write.
 */
export function materializeArtifact(objects: ObjectStore, artifact: Artifact, manifest: readonly ManifestEntry[], out: string): string {
  try {
    return writeOut(objects, artifact, manifest, out);
  } catch (error) {
    if (error instanceof RampartError) throw error;
    // The reason without its path: the caller knows `out`, and this message can reach HTTP clients.
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new RegistryStorageError(
      'E_REGISTRY_WRITE',
      `Cannot write ${artifact.kind} '${artifact.name}' (${artifact.digest.slice(0, 12)}) out of the registry: ${code}.`,
      {
        cause: error,
        details: { digest: artifact.digest, errno: code },
      },
    );
  }
}

function writeOut(objects: ObjectStore, artifact: Artifact, manifest: readonly ManifestEntry[], out: string): string {
  if (artifact.storage === 'blob') {
    writeFileAtomicSync(out, objects.read(artifact.digest));
    return out;
  }
  const files = manifest.map((f) => {
    if (isAbsolute(f.path) || f.path.split('/').some((part) => part === '..' || part === '')) {
      throw new RegistryError(
        'E_REGISTRY_CORRUPT',
        `Manifest of ${artifact.digest.slice(0, 12)} has an unsafe path '${f.path}'; the database was edited.`,
        {
          details: { digest: artifact.digest, path: f.path },
        },
      );
    }
    return { path: f.path, bytes: objects.read(f.digest) };
  });
  if (sha256Hex(manifestBytes(manifest)) !== artifact.digest) {
    throw new RegistryError(
      'E_REGISTRY_CORRUPT',
      `The file list of ${artifact.digest.slice(0, 12)} no longer matches its digest; the database was edited.`,
      {
        details: { digest: artifact.digest },
      },
    );
  }
  const fresh = !existsSync(out);
  const target = fresh ? tempPathFor(out) : out;
  mkdirSync(target, { recursive: true });
  try {
    for (const f of files) {
      const file = join(target, ...f.path.split('/'));
      mkdirSync(dirname(file), { recursive: true });
      writeFileAtomicSync(file, f.bytes);
    }
    if (fresh) renameSync(target, out);
  } catch (error) {
    if (fresh) rmSync(target, { recursive: true, force: true });
    throw error;
  }
  return out;
}
