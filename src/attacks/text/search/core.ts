/**
 * The shared core of the text searches: one place that counts queries, enforces the word
 * budget and protected tokens, proposes candidates from the threat's families, and ranks
 * states. Greedy, beam and gradient-guided searches differ only in how they order words
 * (`WordRanker`) and how many partial solutions they keep (`beamWidth`); none has its own
 * query loop.
 */
import { InputError, UsageError } from '../../../core/errors.js';
import { createRng, type Rng } from '../../../core/rng.js';
import type { TextClassifier } from '../../../models/text/text-classifier.js';
import { maxChangedWords } from '../../../threats/text-threat.js';
import { ALL_TRANSFORMATIONS } from '../transformations/index.js';
import { charEditDistance, joinTokens, protectedMask, tokenize, wordTokenIndices, type TextToken } from '../tokens.js';
import type { TextThreatModel } from '../../../threats/text-threat.js';
import type { TextAttack, TextAttackResult, TextAttackRunOptions, TextChange, TextTransformation } from '../types.js';

export interface SearchConfig {
  /** Candidates asked of each allowed transformation for one word. */
  candidatesPerTransformation: number;
  /** Partial solutions kept per step; 1 is greedy. */
  beamWidth: number;
  /** Per-example query cap (texts sent to the model); 0 for none. */
  maxQueries: number;
  /** Largest number of texts in one `predictProba` call. */
  batchSize: number;
  /**
   * Passes of the refinement phase: when the word budget is spent without a flip and
   * queries remain, each changed word is offered fresh candidates in turn (0 turns it off).
   */
  refinePasses: number;
}

/**
 * Words whose candidates a transformation must have offered, none moving the model's
 * probabilities, before the search stops asking it (e.g. case flips against a model that
 * lower-cases its input): an attacker does not keep paying for edits the filter ignores.
 */
const INERT_AFTER_WORDS = 3;
/** Probability change below which a candidate is taken to have left the model unmoved. */
const INERT_EPSILON = 1e-7;
/** Kept edits after which candidates are shared out by how often each transformation won. */
const EXPLORE_WORDS = 4;

/** A set of word changes and the model's probabilities at exactly that text. */
export interface SearchState {
  readonly changes: ReadonlyMap<number, TextChange>;
  readonly text: string;
  readonly probs: Float32Array;
}

/**
 * Orders the editable words of an example, most promising first. May spend queries through
 * `example.query` (leave-one-out) or white-box passes recorded with `example.countPasses`.
 */
export type WordRanker = (example: ExampleSearch, clean: SearchState) => Promise<number[]>;

function argmax(row: Float32Array): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if ((row[k] as number) > (row[best] as number)) best = k;
  return best;
}

/** One example under attack: its tokens, budget, candidate source and query counter. */
export class ExampleSearch {
  readonly tokens: readonly TextToken[];
  /** Token index of each word. */
  readonly wordTokens: readonly number[];
  /** Word indices the attack may change (protected ones left out). */
  readonly editable: readonly number[];
  /** Most words that may change: floor(maxWordFraction · words). */
  readonly budget: number;
  private spent = 0;
  /** Every replacement already proposed per word, so each draw (refinement's too) is new. */
  private readonly proposed = new Map<number, Set<string>>();
  /** Per transformation: words it offered candidates for, and whether any moved the model. */
  private readonly effect = new Map<string, { words: number; moved: boolean }>();
  /** Per transformation: kept edits it produced (see `shares`). */
  private readonly wins = new Map<string, number>();

  constructor(
    readonly model: TextClassifier,
    readonly text: string,
    readonly label: number,
    private readonly threat: TextThreatModel,
    private readonly transformations: readonly TextTransformation[],
    private readonly config: SearchConfig,
    private readonly rng: Rng,
  ) {
    this.tokens = tokenize(text);
    this.wordTokens = wordTokenIndices(this.tokens);
    const locked = protectedMask(this.tokens, threat.budget.protectedTokens);
    this.editable = this.wordTokens.map((_, w) => w).filter((w) => !locked[this.wordTokens[w] as number]);
    this.budget = maxChangedWords(threat, this.wordTokens.length);
  }

  get queries(): number {
    return this.spent;
  }

  /** Queries left under the cap (Infinity without one). */
  get remaining(): number {
    return this.config.maxQueries > 0 ? Math.max(0, this.config.maxQueries - this.spent) : Number.POSITIVE_INFINITY;
  }

  /** Records model passes that are not `predictProba` calls (a white-box gradient pass). */
  countPasses(n: number): void {
    this.spent += n;
  }

  /**
   * Class probabilities for the texts, counting each text as one query. Under a query cap
   * only the first `remaining` texts are sent; the result is then shorter than the input.
   */
  async query(texts: readonly string[]): Promise<Float32Array[]> {
    const allowed = texts.slice(0, Math.min(texts.length, this.remaining));
    const out: Float32Array[] = [];
    for (let i = 0; i < allowed.length; i += this.config.batchSize) {
      const batch = allowed.slice(i, i + this.config.batchSize);
      this.spent += batch.length;
      const rows = await this.model.predictProba(batch);
      if (rows.length !== batch.length) {
        throw new InputError('E_TEXT_MODEL_OUTPUT', `Model '${this.model.id}' returned ${rows.length} rows for ${batch.length} texts; predictProba must return one row per text.`);
      }
      out.push(...rows);
    }
    return out;
  }

  /** The text with the given word changes applied. */
  render(changes: ReadonlyMap<number, TextChange>): string {
    if (changes.size === 0) return this.text;
    const parts = this.tokens.map((t) => t.text);
    for (const [w, change] of changes) parts[this.wordTokens[w] as number] = change.to;
    return joinTokens(parts.map((text) => ({ text })));
  }

  /** The original text of word `w`. */
  word(w: number): string {
    return this.tokens[this.wordTokens[w] as number]?.text ?? '';
  }

  /**
   * Distinct replacements for word `w` not proposed before, from every allowed
   * transformation: up to `perTransformation` (default: the configured count) from each,
   * shared out by `shares`. A later call (refinement) draws fresh ones; it may be empty.
   */
  candidates(w: number, perTransformation = this.config.candidatesPerTransformation): { to: string; transformation: string }[] {
    const from = this.word(w);
    const seen = this.proposedFor(w);
    const out: { to: string; transformation: string }[] = [];
    for (const [t, limit] of this.shares(perTransformation)) {
      const options = { limit, maxCharEdits: this.threat.budget.maxCharEditsPerWord };
      for (const to of t.candidates(from, this.rng, options)) {
        if (seen.has(to)) continue;
        seen.add(to);
        out.push({ to, transformation: t.id });
      }
    }
    return out;
  }

  /**
   * Neighbours of the current replacement `to` of word `w`: one more edit of any allowed
   * transformation applied to `to`, kept when still within the character budget of the
   * original word and not proposed before. A replacement that lowered the score holds
   * useful edits; changing one of them while keeping the rest searches near it instead of
   * starting from scratch. Shared out among transformations by wins, as `candidates` are:
   * with every family at once, a full count from each would spend a refinement pass on its
   * first few words.
   */
  neighbours(w: number, to: string): { to: string; transformation: string }[] {
    const from = this.word(w);
    const seen = this.proposedFor(w);
    const out: { to: string; transformation: string }[] = [];
    for (const [t, limit] of this.shares(this.config.candidatesPerTransformation)) {
      for (const next of t.candidates(to, this.rng, { limit, maxCharEdits: 1 })) {
        if (seen.has(next) || charEditDistance(from, next) > this.threat.budget.maxCharEditsPerWord) continue;
        seen.add(next);
        out.push({ to: next, transformation: t.id });
      }
    }
    return out;
  }

  /** Configured candidates per transformation. */
  get perTransformation(): number {
    return this.config.candidatesPerTransformation;
  }

  /** Transformations still asked for candidates (inert ones dropped). */
  get activeTransformations(): number {
    return this.transformations.filter((t) => !this.isInert(t.id)).length;
  }

  /** The replacements proposed so far for word `w` (the word itself included). */
  private proposedFor(w: number): Set<string> {
    let seen = this.proposed.get(w);
    if (!seen) {
      seen = new Set<string>([this.word(w)]);
      this.proposed.set(w, seen);
    }
    return seen;
  }

  /**
   * Candidates per transformation for one word: `perTransformation` each while the search
   * has kept fewer than {@link EXPLORE_WORDS} changes, then the same total shared in
   * proportion to how often each transformation gave the kept edit (add-one smoothed, so
   * none starves). Against a filter that shrugs off some families, the queries go to the
   * edits that work on it, which is what makes every family at once at least as strong
   * as the best one alone. Inert transformations get none.
   */
  private shares(perTransformation: number): [TextTransformation, number][] {
    const active = this.transformations.filter((t) => !this.isInert(t.id));
    const total = active.reduce((n, t) => n + (this.wins.get(t.id) ?? 0), 0);
    if (total < EXPLORE_WORDS) return active.map((t) => [t, perTransformation]);
    const budget = perTransformation * active.length;
    return active.map((t) => [t, Math.max(1, Math.round((budget * ((this.wins.get(t.id) ?? 0) + 1)) / (total + active.length)))]);
  }

  /** Records that `transformation` gave the edit kept for a word. */
  recordWin(transformation: string): void {
    this.wins.set(transformation, (this.wins.get(transformation) ?? 0) + 1);
  }

  private isInert(transformation: string): boolean {
    const e = this.effect.get(transformation);
    return e !== undefined && !e.moved && e.words >= INERT_AFTER_WORDS;
  }

  /**
   * Records, for one word, whether each transformation's candidates moved the model away
   * from the state they extended; transformations that never do are dropped after a few words.
   */
  recordEffect(base: Float32Array, tried: readonly { transformation: string; probs: Float32Array }[]): void {
    const moved = new Map<string, boolean>();
    for (const { transformation, probs } of tried) {
      const delta = Math.abs((probs[this.label] as number) - (base[this.label] as number));
      moved.set(transformation, (moved.get(transformation) ?? false) || delta > INERT_EPSILON);
    }
    for (const [transformation, m] of moved) {
      const e = this.effect.get(transformation) ?? { words: 0, moved: false };
      e.words++;
      e.moved ||= m;
      this.effect.set(transformation, e);
    }
  }

  /** 1 when the top class at these probabilities is not the label. */
  isSuccess(probs: Float32Array): boolean {
    return argmax(probs) !== this.label;
  }

  /** Search objective, lower is better: the probability of the true class, successes first. */
  score(probs: Float32Array): number {
    return (this.isSuccess(probs) ? -1 : 0) + (probs[this.label] as number);
  }
}

/**
 * Importance of each editable word by leaving it out (Jin et al. 2020, TextFooler): the drop
 * in the true-class probability when the word is deleted. One query per editable word.
 */
export const leaveOneOutRanker: WordRanker = async (example, clean) => {
  const texts = example.editable.map((w) => example.render(new Map([[w, { index: w, from: example.word(w), to: '', transformation: 'delete' }]])));
  const probs = await example.query(texts);
  const base = clean.probs[example.label] as number;
  const importance = new Map<number, number>();
  example.editable.forEach((w, k) => {
    const row = probs[k];
    // Words the query cap left unscored go last, in text order.
    importance.set(w, row ? base - (row[example.label] as number) : Number.NEGATIVE_INFINITY);
  });
  return orderByImportance(example.editable, importance);
};

/** Sorts word indices by descending importance, ties in text order. */
export function orderByImportance(words: readonly number[], importance: ReadonlyMap<number, number>): number[] {
  return [...words].sort((a, b) => (importance.get(b) as number) - (importance.get(a) as number) || a - b);
}

/**
 * Walks the ranked words once. At each word every kept state is extended with every
 * candidate for it (when the state still has budget), the extensions are scored in one
 * batch, and the best `beamWidth` states among the old and the new survive. With a width of
 * 1 this is the greedy word-importance search. Stops at the first success. When the walk
 * ends without one and queries remain, `refinePasses` passes re-draw candidates for the
 * words already changed (see {@link refineChanges}).
 */
export async function searchRanked(example: ExampleSearch, order: readonly number[], clean: SearchState, beamWidth: number, refinePasses = 0): Promise<SearchState> {
  let beams: SearchState[] = [clean];
  for (const w of order) {
    if (beams.some((b) => example.isSuccess(b.probs)) || example.remaining === 0) break;
    const open = beams.filter((b) => b.changes.size < example.budget);
    if (open.length === 0) break;
    const candidates = example.candidates(w, candidateAllowance(example, open));
    if (candidates.length === 0) continue;
    const scored = await scoreExtensions(example, open, w, candidates);
    // The first beam's extensions come first, one per candidate, in order.
    const firstBeam = scored.slice(0, candidates.length).map((s, k) => ({ transformation: (candidates[k] as { transformation: string }).transformation, probs: s.probs }));
    example.recordEffect((open[0] as SearchState).probs, firstBeam);
    beams = keepBest(example, [...beams, ...scored], beamWidth);
    const kept = (beams[0] as SearchState).changes.get(w);
    if (kept) example.recordWin(kept.transformation);
  }
  const best = beams[0] as SearchState;
  return refinePasses > 0 ? refineChanges(example, best, order, refinePasses) : best;
}

/**
 * Candidates per transformation for the next word: the configured count, lowered when the
 * queries left would not stretch over the words the budget still allows at that rate. A
 * long message under a query cap then spends its whole word budget on cheaper words
 * instead of running out of queries half way; a short one keeps the full count (and the
 * refinement phase spends what is left).
 */
function candidateAllowance(example: ExampleSearch, open: readonly SearchState[]): number {
  const configured = example.perTransformation;
  if (!Number.isFinite(example.remaining)) return configured;
  const wordsLeft = Math.max(1, example.budget - Math.min(...open.map((b) => b.changes.size)));
  const perWord = example.remaining / wordsLeft / open.length;
  return Math.max(1, Math.min(configured, Math.floor(perWord / Math.max(1, example.activeTransformations))));
}

/**
 * Every state extended with every candidate replacement of word `w`, scored in one batch
 * (state-major: all of the first state's extensions first). Fewer come back when the
 * query cap cuts the batch.
 */
async function scoreExtensions(example: ExampleSearch, states: readonly SearchState[], w: number, candidates: readonly { to: string; transformation: string }[]): Promise<SearchState[]> {
  const extended: { changes: Map<number, TextChange>; text: string }[] = [];
  for (const state of states) {
    for (const c of candidates) {
      const changes = new Map(state.changes);
      changes.set(w, { index: w, from: example.word(w), to: c.to, transformation: c.transformation });
      extended.push({ changes, text: example.render(changes) });
    }
  }
  const probs = await example.query(extended.map((e) => e.text));
  return probs.map((p, k) => ({ ...(extended[k] as { changes: Map<number, TextChange>; text: string }), probs: p }));
}

/** The `width` best distinct states, old ones first among equals (a stable sort). */
function keepBest(example: ExampleSearch, pool: SearchState[], width: number): SearchState[] {
  const sorted = pool.sort((a, b) => example.score(a.probs) - example.score(b.probs));
  const seen = new Set<string>();
  const out: SearchState[] = [];
  for (const s of sorted) {
    if (seen.has(s.text)) continue;
    seen.add(s.text);
    out.push(s);
    if (out.length >= width) break;
  }
  return out;
}

/**
 * Refinement once the word budget is spent (or the ranking walked) without a flip: the
 * changed words are revisited in ranking order, each offered fresh candidates (of the
 * original word) in the context of all the other changes, and the best replacement is kept
 * when it lowers the objective. A word's first candidates were chosen before the later
 * words changed, and a few dozen random edits rarely hold the best one, so the leftover
 * queries buy a better edit of the same words, within the same budget. Stops at a flip, at
 * the query cap, after `passes` passes, or after a pass that changed nothing.
 */
export async function refineChanges(example: ExampleSearch, start: SearchState, order: readonly number[], passes: number): Promise<SearchState> {
  let state = start;
  for (let pass = 0; pass < passes; pass++) {
    let improved = false;
    for (const w of order.filter((v) => state.changes.has(v))) {
      if (example.isSuccess(state.probs) || example.remaining === 0) return state;
      const current = state.changes.get(w) as TextChange;
      const candidates = [...example.neighbours(w, current.to), ...example.candidates(w)];
      if (candidates.length === 0) continue;
      const scored = await scoreExtensions(example, [state], w, candidates);
      const next = keepBest(example, [state, ...scored], 1)[0] as SearchState;
      if (next !== state) {
        state = next;
        improved = true;
        example.recordWin((next.changes.get(w) as TextChange).transformation);
      }
    }
    if (!improved || example.isSuccess(state.probs)) break;
  }
  return state;
}

/** Checks the options every search takes and fills their defaults. */
export function resolveSearchConfig(attackId: string, options: Partial<SearchConfig>, defaults: SearchConfig): SearchConfig {
  const config = { ...defaults, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as SearchConfig;
  const rules: Array<[keyof SearchConfig, number]> = [
    ['candidatesPerTransformation', 1],
    ['beamWidth', 1],
    ['maxQueries', 0],
    ['batchSize', 1],
    ['refinePasses', 0],
  ];
  for (const [key, min] of rules) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new UsageError('E_TEXT_ATTACK_OPTION', `Text attack '${attackId}': option ${key} must be an integer >= ${min}; got ${String(value)}.`, {
        details: { attack: attackId, option: key, value, min },
      });
    }
  }
  return config;
}

function validateBatch(model: TextClassifier, texts: readonly string[], labels: Int32Array): void {
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
    throw new InputError('E_TEXT_INPUT', 'Text attack: texts must be an array of strings.');
  }
  if (labels.length !== texts.length) {
    throw new InputError('E_LABELS_LENGTH', `Text attack: ${texts.length} texts but ${labels.length} labels; pass one label per text.`, {
      details: { texts: texts.length, labels: labels.length },
    });
  }
  const classes = model.classes.length;
  labels.forEach((label, i) => {
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new InputError('E_LABEL_RANGE', `Text attack: label ${label} at index ${i} is not a class of model '${model.id}'; use 0..${classes - 1} (${model.classes.join(', ')}).`, {
        details: { index: i, label, classes: model.classes },
      });
    }
  });
}

/**
 * Builds a TextAttack from a ranker: validation, the clean query, the search, and the
 * result bookkeeping are shared by every search method.
 */
export function rankedSearchAttack(id: string, config: SearchConfig, ranker: WordRanker, check?: (model: TextClassifier) => void): TextAttack {
  return Object.freeze({
    id,
    config: Object.freeze({ ...config }),
    async run(model: TextClassifier, texts: string[], labels: Int32Array, threat: TextThreatModel, options: TextAttackRunOptions = {}): Promise<TextAttackResult> {
      validateBatch(model, texts, labels);
      check?.(model);
      const n = texts.length;
      const result: TextAttackResult = {
        adversarial: [...texts],
        success: new Uint8Array(n),
        queries: new Int32Array(n),
        changedWordFraction: new Float32Array(n),
        changes: texts.map(() => []),
        originalCorrect: new Uint8Array(n),
      };
      const transformations = ALL_TRANSFORMATIONS.filter((t) => threat.families.includes(t.family));
      const seedRng = createRng(options.seed ?? 0);
      for (let i = 0; i < n; i++) {
        // One generator per example, drawn in order: an example's candidates do not depend on
        // how many queries the examples before it spent.
        const rng = seedRng.fork();
        const example = new ExampleSearch(model, texts[i] as string, labels[i] as number, threat, transformations, config, rng);
        const [cleanProbs] = await example.query([example.text]);
        if (cleanProbs) {
          const clean: SearchState = { changes: new Map(), text: example.text, probs: cleanProbs };
          let final = clean;
          if (example.isSuccess(cleanProbs)) {
            result.success[i] = 1;
          } else {
            result.originalCorrect[i] = 1;
            if (example.budget > 0 && example.editable.length > 0) {
              const order = await ranker(example, clean);
              final = await searchRanked(example, order, clean, config.beamWidth, config.refinePasses);
            }
            result.success[i] = example.isSuccess(final.probs) ? 1 : 0;
          }
          result.adversarial[i] = final.text;
          result.changes[i] = [...final.changes.values()].sort((a, b) => a.index - b.index);
          result.changedWordFraction[i] = example.wordTokens.length > 0 ? final.changes.size / example.wordTokens.length : 0;
        }
        result.queries[i] = example.queries;
        options.onProgress?.({ done: i + 1, total: n });
      }
      return result;
    },
  });
}
