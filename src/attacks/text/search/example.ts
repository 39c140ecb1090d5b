/**
 * One example under attack (`ExampleSearch`): its tokens and word budget, the candidates the
 * threat's transformations propose for a word, the query counter and cap, and the score the
 * searches rank states by. Every search shares it, so none keeps its own query loop.
 */
import { InputError } from '../../../core/errors.js';
import type { Rng } from '../../../core/rng.js';
import type { TextClassifier } from '../../../models/text/text-classifier.js';
import { maxChangedWords, type TextThreatModel } from '../../../threats/text-threat.js';
import { charEditDistance, joinTokens, protectedMask, tokenize, wordTokenIndices, type TextToken } from '../tokens.js';
import type { TextChange, TextTransformation } from '../types.js';

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
/** Probability change (relative to the distance from 0 or 1) below which a candidate is taken to have left the model unmoved. */
const INERT_EPSILON = 1e-6;
/** Kept edits after which candidates are shared out by how often each transformation won. */
const EXPLORE_WORDS = 4;

/** A set of word changes and the model's probabilities at exactly that text. */
export interface SearchState {
  readonly changes: ReadonlyMap<number, TextChange>;
  readonly text: string;
  readonly probs: Float32Array;
}

/**
 * The true class's probability, read where float32 keeps it precise: near 1 a
 * probability keeps few digits (0.9999994 and 0.9999996 round alike), but the other
 * classes' small probabilities keep all of theirs, so there it is one minus their sum (in
 * double precision). A confident filter's candidates then still rank apart, and rank alike
 * whatever threshold the filter flags from (a threshold scales the small side by a near
 * constant), which is what lets one run stand for runs at higher thresholds (eval/text-frontier.ts).
 */
export function labelMass(probs: Float32Array, label: number): number {
  const p = probs[label] as number;
  if (p <= 0.5) return p;
  let others = 0;
  for (let k = 0; k < probs.length; k++) if (k !== label) others += probs[k] as number;
  return 1 - others;
}

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
  /** Told of the clean state and of each better state the search keeps (the run's `onStep`). */
  onKept?: (queries: number, probs: Float32Array) => void;

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
        throw new InputError(
          'E_TEXT_MODEL_OUTPUT',
          `Model '${this.model.id}' returned ${rows.length} rows for ${batch.length} texts; predictProba must return one row per text.`,
        );
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

  /** Reports a newly kept state to `onKept`: the clean one, then each improvement. */
  kept(state: SearchState): void {
    this.onKept?.(this.spent, state.probs);
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
      const before = labelMass(base, this.label);
      const delta = Math.abs(labelMass(probs, this.label) - before);
      // Relative to the distance from the nearer end, so a threshold's rescaling does not change the verdict.
      moved.set(transformation, (moved.get(transformation) ?? false) || delta > INERT_EPSILON * Math.min(before, 1 - before));
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
    return (this.isSuccess(probs) ? -1 : 0) + labelMass(probs, this.label);
  }
}
