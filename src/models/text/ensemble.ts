/**
 * A mean-probability ensemble of text classifiers (e.g. the hashed n-gram filter and the
 * char-CNN): each text's class probabilities are the mean of the members'. It is itself a
 * TextClassifier, so attacks query the whole ensemble (one query per text, as for any
 * filter: the attacker sees one deployed system) and a threshold or normaliser wraps it
 * like any model. An attacker must now move both members' scores at once: an edit the
 * n-gram filter drops can still leave its context in the CNN's.
 */
import { UsageError } from '../../core/errors.js';
import type { TextClassifier } from './text-classifier.js';

/**
 * The members' mean class probabilities.
 *
 * @throws UsageError `E_TEXT_ENSEMBLE` for fewer than two members or members whose classes differ.
 * @example const both = meanTextEnsemble([ngram, cnn], 'ngram+cnn');
 */
export function meanTextEnsemble(members: readonly TextClassifier[], id?: string): TextClassifier {
  if (members.length < 2) {
    throw new UsageError('E_TEXT_ENSEMBLE', `A text ensemble needs at least two members, got ${members.length}; use the model itself.`);
  }
  const classes = (members[0] as TextClassifier).classes;
  const odd = members.find((m) => m.classes.join('\n') !== classes.join('\n'));
  if (odd) {
    throw new UsageError(
      'E_TEXT_ENSEMBLE',
      `Text ensemble: '${odd.id}' has classes (${odd.classes.join(', ')}) but '${(members[0] as TextClassifier).id}' has (${classes.join(', ')}); members must share classes in the same order.`,
      { details: { classes, other: odd.classes } },
    );
  }
  return {
    id: id ?? members.map((m) => m.id).join('+'),
    classes,
    async predictProba(texts) {
      const rows = await Promise.all(members.map((m) => m.predictProba(texts)));
      return texts.map((_, i) => {
        const out = new Float32Array(classes.length);
        for (const member of rows) {
          const p = member[i] as Float32Array;
          for (let c = 0; c < out.length; c++) out[c] = (out[c] as number) + (p[c] as number) / rows.length;
        }
        return out;
      });
    },
  };
}
