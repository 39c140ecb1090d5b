import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../core/rng.js';
import { RampartError } from '../../core/errors.js';
import { homoglyph, invisible, keyboardTypo, leet, splitPunct } from '../../attacks/text/transformations/index.js';
import { randomPerturbation } from '../../attacks/text/perturb.js';
import { textThreatModel } from '../../threats/text-threat.js';
import { initEngine } from '../../engine/backend.js';
import { trainTextClassifier } from '../../training/text/train.js';
import type { TextDataset } from '../../data/text/text-dataset.js';
import { corpusWordCounts, createLexicon } from './lexicon.js';
import { createSpellingCorrector } from './spelling.js';
import { spamLogOdds } from './vocabulary-defence.js';
import { createTextNormalizer, normalizeText, normalizeTextWithReport } from './normalize.js';
import { normalizedClassifier } from './normalized-classifier.js';
import { createSynonymEncoder } from './synonyms.js';
import { getTextTransformation } from '../../attacks/text/registry.js';

const WORDS = (
  'free money click here offer cheap order today credit card winner prize cash bonus mortgage rates lowest price ' +
  'guaranteed limited discount investment million dollars please reply account password meeting tomorrow project ' +
  'report thanks Free Money CLICK Offer'
).split(' ');

const ENGLISH = [
  'Hi Anna, thanks for the report. I looked at the numbers and they look fine to me.',
  "We'll meet on Tuesday at 10am in room 2B; bring the 2nd draft and the Q3 budget ($1,250 so far).",
  'The quick brown fox jumps over the lazy dog. In the end, a way to go, e.g. the U.S. Army or Mr. J. Smith.',
  'Version 2.4.1 fixes the POP3 and RAID5 issues on Win98 and X11; see http://example.com/notes-v2.html or mail bob@example.org.',
  "I don't think he ran a test, but I am sure it works for 100k users in the 1990s. C++ and Yahoo! rock.",
].join('\n');

/** Share of a transformation's candidates for the words that normalise back to the word. */
function inverted(t: typeof homoglyph, maxCharEdits: number): { ok: number; total: number; failures: string[] } {
  let ok = 0;
  let total = 0;
  const failures: string[] = [];
  for (const word of WORDS) {
    for (const c of t.candidates(word, createRng(word.length * 31 + maxCharEdits), { limit: 4, maxCharEdits })) {
      total++;
      const out = normalizeText(c);
      if (out.toLowerCase() === word.toLowerCase()) ok++;
      else failures.push(`${c} -> ${out}`);
    }
  }
  return { ok, total, failures };
}

test('normalisation inverts the homoglyph and invisible-character transformations', () => {
  for (const edits of [1, 2, 3]) {
    for (const t of [homoglyph, invisible]) {
      const r = inverted(t, edits);
      assert.ok(r.total > 100, `${t.id}: ${r.total} candidates`);
      assert.equal(r.ok, r.total, `${t.id} at ${edits} edits: ${r.failures.join(', ')}`);
    }
  }
});

test('normalisation inverts leet and most punctuation splits', () => {
  for (const edits of [1, 2]) {
    const l = inverted(leet, edits);
    assert.ok(l.ok / l.total >= 0.95, `leet at ${edits}: ${l.ok}/${l.total}: ${l.failures.join(', ')}`);
    const s = inverted(splitPunct, edits);
    assert.ok(s.ok / s.total >= 0.9, `split-punct at ${edits}: ${s.ok}/${s.total}: ${s.failures.join(', ')}`);
  }
  assert.equal(normalizeText('Cl1ck h3re f0r y0ur FR33 $ample'), 'Click here for your FREE sample');
  assert.equal(normalizeText('c.l.i.c.k to w-i-n a fr ee pr.ize'), 'click to win a free prize');
});

test('whole perturbed sentences come back (homoglyph, invisible, leet within one threat)', () => {
  const threat = textThreatModel({ maxWordFraction: 0.5, maxCharEditsPerWord: 2, families: ['homoglyph', 'invisible', 'leet'] });
  const sentence = 'Claim your free prize today and get cheap money with this limited offer';
  let back = 0;
  for (let seed = 0; seed < 40; seed++) {
    const attacked = randomPerturbation(sentence, threat, seed);
    assert.notEqual(attacked, sentence);
    if (normalizeText(attacked).toLowerCase() === sentence.toLowerCase()) back++;
  }
  // Left over: "get" as "6e7", which reads as the number 6·10^7 and is kept.
  assert.ok(back >= 37, `${back}/40 sentences restored`);
});

test('ordinary English, numbers, versions and addresses are left unchanged', () => {
  const report = normalizeTextWithReport(ENGLISH);
  assert.equal(report.text, ENGLISH);
  assert.deepEqual(report.fired, []);
  assert.equal(report.stages.length, 9);
});

test('each stage is named in the report and fires on its own obfuscation', () => {
  const cases: [string, string, string][] = [
    ['fr\u200Bee', 'free', 'invisible'],
    ['\uFF46\uFF52\uFF45\uFF45', 'free', 'nfkc'],
    ['fr\u00e9e', 'free', 'marks'],
    ['fr\u0435e', 'free', 'confusables'],
    ['fr33', 'free', 'leet'],
    ['fr.ee', 'free', 'split'],
    ['mortgaeg rates', 'mortgage rates', 'unscramble'],
    ['mortgsge rates', 'mortgage rates', 'spelling'],
    ['free  \t money', 'free money', 'whitespace'],
  ];
  for (const [input, expected, stage] of cases) {
    const r = normalizeTextWithReport(input);
    assert.equal(r.text, expected, input);
    assert.deepEqual(r.fired, [stage], input);
  }
  assert.equal(normalizeTextWithReport('fr33', { stages: ['invisible'] }).text, 'fr33');
  assert.throws(
    () => normalizeText('x', { stages: ['stem' as 'leet'] }),
    (e: unknown) => e instanceof RampartError && e.code === 'E_NORMALIZE_STAGE' && /'invisible'/.test(e.message),
  );
});

test('spelling repair fixes typos from a corpus vocabulary, leaving names and known words', () => {
  const spelling = createSpellingCorrector(
    corpusWordCounts(['refinance your mortgage today', 'mortgage rates refinance now', 'the lowest rates'], 1),
  );
  assert.equal(spelling.correct('mortgaeg'), 'mortgage');
  assert.equal(spelling.correct('refniance'), 'refinance');
  assert.equal(spelling.correct('rtase'), undefined, 'two edits in a five-letter word are too many');
  assert.equal(normalizeText('REFINANSE your mortgsge, Mortgsge Smith', { spelling }), 'REFINANCE your mortgage, Mortgsge Smith');
  const r = inverted(keyboardTypo, 1);
  // Typos that make another word ("tree", "hers") and ties between equally close words
  // (WordNet gives no frequencies) stay; a corpus vocabulary with counts does better.
  assert.ok(r.ok / r.total >= 0.55, `keyboard typos at 1 edit: ${r.ok}/${r.total}: ${r.failures.slice(0, 10).join(', ')}`);
});

test('two-edit repair of short words, Capitalised repair, and unknown words masked or dropped', () => {
  const counts = corpusWordCounts(
    ['refinance your mortgage today', 'mortgage rates refinance now', 'the lowest rates', 'guaranteed results', 'runs on win98'],
    1,
  );
  const wide = createSpellingCorrector(counts, { twoEditsFrom: 4 });
  assert.equal(wide.correct('rtase'), 'rates', 'two swaps in a five-letter word, within reach from 4 letters');
  assert.equal(wide.correct('mortgaeg'), 'mortgage');
  assert.equal(wide.correct('zqxwv'), undefined, 'nothing within two edits');
  const spelling = createSpellingCorrector(counts);
  // Capitalised words are names by default; with repairCapitalised they are repaired, keeping the capital.
  assert.equal(normalizeText('Mortgsge rates, Guarenteed', { spelling }), 'Mortgsge rates, Guarenteed');
  assert.equal(normalizeText('Mortgsge rates, Guarenteed', { spelling, repairCapitalised: true }), 'Mortgage rates, Guaranteed');
  const lexicon = createLexicon(counts.keys());
  const text = 'Refinance with Selp8ng zqxwv today at www.qzxv-loans.com, version x86 2.4 or win98';
  // Known words, numbers, one-letter codes, the corpus's own codes ("win98") and addresses
  // stay; unknown letters (and letters around a typed digit) go.
  assert.equal(
    normalizeText(text, { lexicon, spelling, unknownWords: 'mask' }),
    'Refinance with zzunknown zzunknown today at www.qzxv-loans.com, version x86 2.4 or win98',
  );
  assert.equal(
    normalizeText('the transfw5 of u5te5ly 10am 2nd x86', { lexicon, spelling, unknownWords: 'mask' }),
    'the zzunknown of zzunknown 10am 2nd x86',
    'number-row typos anywhere in a word',
  );
  assert.equal(
    normalizeText(text, { lexicon, spelling, unknownWords: 'drop' }),
    'Refinance with today at www.qzxv-loans.com, version x86 2.4 or win98',
  );
  assert.equal(normalizeText(text, { lexicon, spelling }), text, "'keep' is the default");
  // With markers, each masked or dropped word is marked: taking a word away costs the attacker a marker.
  assert.equal(
    normalizeText(text, { lexicon, spelling, unknownWords: 'drop', markObfuscation: true }),
    'Refinance with today at www.qzxv-loans.com, version x86 2.4 or win98 zzobfunknown zzobfunknown',
  );
  assert.equal(
    normalizeText('SOHTR rates', { lexicon, spelling, unknownWords: 'drop', markObfuscation: true }),
    'rates zzobfunknown',
    'any case',
  );
  // Every edit the repairs cannot undo reads the same: the attacker's choice of letters no longer matters.
  const a = normalizeText('lowest ratse qxzvb', { lexicon, spelling, unknownWords: 'mask' });
  const b = normalizeText('lowest ratse vbnmq', { lexicon, spelling, unknownWords: 'mask' });
  assert.equal(a, b);
  // Fragments an edit cut a word down to are judged from unknownWordMinLength on; short words stay.
  const fragments = 'Re: yu get et on my mortgage';
  assert.equal(
    normalizeText(fragments, { lexicon, spelling, unknownWords: 'drop' }),
    fragments,
    'words under 3 characters are not judged by default',
  );
  assert.equal(
    normalizeText(fragments, { lexicon, spelling, unknownWords: 'drop', unknownWordMinLength: 1, markObfuscation: true }),
    'Re: get on my mortgage zzobfunknown zzobfunknown',
  );
  assert.throws(
    () => normalizeText(fragments, { unknownWords: 'drop', unknownWordMinLength: 0 }),
    (e: unknown) => e instanceof RampartError && e.code === 'E_NORMALIZE_OPTION' && /unknownWordMinLength/.test(e.message),
  );
});

test('unambiguous spelling repair: only when every word in reach is a form of one word', () => {
  const counts = corpusWordCounts(['advertisement advertisements', 'free tree fire', 'remove removed', 'you your', 'interest'], 1);
  const spelling = createSpellingCorrector(counts, { twoEditsFrom: 4, onlyUnambiguous: true });
  assert.equal(spelling.correct('ardvertisement'), 'advertisement', 'two words in reach, one stem');
  assert.equal(spelling.correct('lintereast'), 'interest', 'two edits');
  assert.equal(spelling.correct('rhemove'), 'remove');
  assert.equal(spelling.correct('frre'), undefined, "'free', 'tree' and 'fire' are all in reach: the attacker could pick one");
  assert.equal(spelling.correct('yoou'), undefined, "'you' (3 letters) and 'your' both in reach");
  // Whatever two edits the attacker makes to 'interest', the repair is 'interest' or nothing.
  for (const edited of ['intrest', 'innterest', 'interset', 'imterest', 'intereest'])
    assert.ok([undefined, 'interest'].includes(spelling.correct(edited)), edited);
  // The nearest-word corrector over the same words is steerable: 'frre' becomes the most frequent near word.
  assert.notEqual(createSpellingCorrector(counts, { twoEditsFrom: 4 }).correct('frre'), undefined);
});

test('spamward repair: an ambiguous misspelling goes to the most spam-indicative word in reach', () => {
  const texts = ['free money free offer', 'free cash now', 'the tree by the fire', 'fire drill at work', 'your tree'];
  const labels = [1, 1, 0, 0, 0];
  const counts = corpusWordCounts(texts, 1);
  const scores = spamLogOdds(texts, labels, 1, counts);
  assert.ok((scores.get('free') as number) > 1 && (scores.get('tree') as number) < 0);
  const spelling = createSpellingCorrector(counts, { twoEditsFrom: 4, onlyUnambiguous: true, spamward: scores });
  assert.equal(spelling.correct('frre'), 'free', "'free', 'tree' and 'fire' in reach: the spam word wins");
  const strict = createSpellingCorrector(counts, { twoEditsFrom: 4, onlyUnambiguous: true, spamward: scores, spamwardMin: 5 });
  assert.equal(strict.correct('frre'), undefined, 'below spamwardMin: left to the unknown-word rule');
});

test('unscramble repairs swapped letters by the letters alone, in any case', () => {
  const spelling = createSpellingCorrector(
    corpusWordCounts(['the nature of nature', 'a secret transaction', 'finance', 'times times items'], 1),
  );
  assert.equal(spelling.unscramble('natrue'), 'nature');
  assert.equal(spelling.unscramble('rtnasaction'), 'transaction', 'two swaps');
  assert.equal(spelling.unscramble('tmies'), 'times', 'the most frequent of an anagram class');
  assert.equal(spelling.unscramble('setcer'), undefined, 'the same letters, but more than two swaps away');
  assert.equal(spelling.unscramble('nature'), undefined, 'a vocabulary word is left alone');
  // Whichever letters the attacker swaps, the repair is the same word: he cannot steer it.
  for (const edited of ['secert', 'escret', 'sercet', 'secrte']) assert.equal(spelling.unscramble(edited), 'secret', edited);
  const r = normalizeTextWithReport('Fniance your SECERT trasnaction, lDolars', { spelling, stages: ['unscramble'] });
  assert.equal(r.text, 'Finance your SECRET transaction, lDolars', 'case kept; letters that make no vocabulary word stay');
  assert.deepEqual(r.fired, ['unscramble']);
  assert.equal(normalizeText('natrue', { spelling, markObfuscation: true, stages: ['unscramble'] }), 'nature zzobfunscramble');
});

test('extra lexicon words and the cached normaliser', () => {
  assert.equal(normalizeText('un$ubscribe'), 'un$ubscribe', 'not a WordNet word');
  assert.equal(normalizeText('un$ubscribe', { lexicon: createLexicon(['unsubscribe']) }), 'unsubscribe');
  // Inflections: of words, and of "do" and "go" among two-letter bases; an edit that cut a
  // word down to "oking" or "mes" is not "ok" or "me" inflected.
  const lexicon = createLexicon();
  for (const word of ['offers', 'doing', 'goes', 'Going']) assert.ok(lexicon.isCommon(word), word);
  for (const word of ['oking', 'mes', 'aying']) assert.equal(lexicon.isCommon(word), false, word);
  assert.equal(createLexicon(corpusWordCounts(['pop3 pop3 pop3 mail'], 3).keys()).isCommon('POP3'), true, "the corpus's own codes");
  // inflectByPartOfSpeech: a suffix counts only on a base of the part of speech it inflects.
  const loose = createLexicon(['zyloprax']);
  const strict = createLexicon(['zyloprax'], { inflectByPartOfSpeech: true });
  for (const word of [
    'offers',
    'emailed',
    'running',
    'faster',
    'greatest',
    'quickly',
    'boxes',
    "doesn't",
    "company's",
    'zyloprax',
    'zylopraxs',
    'doing',
    'goes',
  ]) {
    assert.equal(strict.has(word), true, `${word} is a word either way`);
  }
  for (const word of ['thesed', 'databased', 'tablely', 'chairest', 'zylopraxed', 'withing']) {
    assert.equal(loose.has(word), true, `${word} passes morphy's suffix rules`);
    assert.equal(strict.has(word), false, `${word}: the suffix does not fit the base's part of speech`);
  }
  const cached = createTextNormalizer();
  const text = 'Fr\u200Bee m\u043Eney\n\ncl1ck h e r e now';
  assert.equal(cached(text), normalizeText(text));
  assert.equal(cached(text), normalizeText(text));
  assert.equal(cached(ENGLISH), ENGLISH);
});

test('normalizedClassifier scores the normalised text and keeps the white-box path', async () => {
  await initEngine();
  const texts: string[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 40; i++) {
    texts.push(`win free money now claim your prize ${i}`, `meeting notes for the project review ${i}`);
    labels.push(1, 0);
  }
  const data: TextDataset = { name: 'toy', texts, labels, classes: ['ham', 'spam'] };
  const { classifier } = await trainTextClassifier(data, { epochs: 3, learningRate: 0.02, featurizer: { buckets: 1024 }, seed: 1 });
  const defended = normalizedClassifier(classifier);
  assert.equal(defended.id, `${classifier.id}+normalize`);
  assert.deepEqual(defended.classes, classifier.classes);
  assert.ok(defended.whiteBox);
  const attacked = 'w\u0456n fr33 m\u200Boney n0w';
  const [viaWrapper] = await defended.predictProba([attacked]);
  const [direct] = await classifier.predictProba([normalizeText(attacked)]);
  assert.deepEqual(viaWrapper, direct);
  assert.ok((viaWrapper?.[1] as number) > 0.5, 'the defended model still sees spam');
  assert.deepEqual(defended.whiteBox.featureIndicesOf('fr33'), classifier.whiteBox.featureIndicesOf('free'));
  classifier.dispose();
});

test('markObfuscation appends a marker per repair and per unknown word, and none to plain English', () => {
  const mark = { markObfuscation: true };
  assert.equal(normalizeText(ENGLISH, mark), normalizeText(ENGLISH), 'ordinary text gets no marker');
  const out = normalizeText('Fr\u200Bee m\u043Eney, cl1ck h e r e xqzvtw', mark);
  const [text, ...markers] = out.split(' zzobf');
  assert.equal(text, 'Free money, click here xqzvtw');
  assert.deepEqual(markers.sort(), ['confusables', 'invisible', 'leet', 'split', 'unknown']);
  // Repeated repairs repeat the marker; addresses are identifiers, never unknown words.
  const twice = normalizeText('fr33 m0ney at http://qzxv.example/abcdwxyz', mark);
  assert.equal(twice, 'free money at http://qzxv.example/abcdwxyz zzobfleet zzobfleet');
  const cached = createTextNormalizer(mark);
  const lines = 'fr33 offer\nplain line here';
  assert.equal(cached(lines), `${normalizeText('fr33 offer', mark)}\nplain line here`);
});

test("synonym encoding reads a WordNet synonym as its cluster's code word, keeping case", () => {
  const synonyms = createSynonymEncoder([
    ['urgent', 50],
    ['business', 40],
    ['proposal', 30],
  ]);
  assert.ok(synonyms.size > 0);
  // "pressing" is one of the synonyms the attack would use for "urgent".
  const attackSynonyms = getTextTransformation('synonym-wordnet').candidates('urgent', createRng(1), { limit: 8, maxCharEdits: 2 });
  assert.ok(attackSynonyms.includes('pressing'), attackSynonyms.join(','));
  for (const s of attackSynonyms) assert.equal(synonyms.encode(s), 'urgent', s);
  assert.equal(normalizeText('Pressing BUSINESS: a pressing proposal', { synonyms }), 'Urgent BUSINESS: a urgent proposal');
  // A case flip on top of a synonym must not undo the encoding.
  assert.equal(normalizeText('a pReSsInG offer', { synonyms }), 'a urgent offer');
  assert.equal(normalizeText('see http://pressing.example/pressing', { synonyms }), 'see http://pressing.example/pressing');
  assert.equal(synonyms.encode('zebra'), 'zebra');
});
