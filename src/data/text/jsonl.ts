/** Users' own labelled text as JSON Lines: one `{"text": "...", "label": "spam"}` object per line. */
import { InputError } from '../../core/errors.js';
import { labelName, readTextFile, recordsToDataset, type LabelledRecord, type LabelledTextOptions } from './labelled-records.js';
import type { TextDataset } from './text-dataset.js';

const WHAT = 'loadJsonlTexts';

/**
 * Loads a JSONL file of `{ text, label }` objects. Blank lines are skipped. Labels may be
 * strings, numbers or booleans and are used as class names.
 *
 * @throws DataError `E_DATA_MISSING` / `E_DATA_READ` when the file is missing or unreadable.
 * @throws InputError `E_DATA_LINE` for a line that is not a JSON object with a string text
 *   and a label (naming the line number); `E_UNKNOWN_LABEL` for a label not in
 *   `options.classes`; `E_TEXT_DATASET` for an empty file or a single class.
 * @example
 * const ds = loadJsonlTexts('data/reviews.jsonl', { classes: ['ham', 'spam'] });
 */
export function loadJsonlTexts(path: string, options: LabelledTextOptions = {}): TextDataset {
  const textField = options.textField ?? 'text';
  const labelField = options.labelField ?? 'label';
  const records: LabelledRecord[] = [];
  readTextFile(path, WHAT)
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = i + 1;
      if (raw.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (cause) {
        throw new InputError('E_DATA_LINE', `${WHAT}: ${path} line ${line} is not valid JSON (${(cause as Error).message}).`, {
          cause,
          details: { path, line },
        });
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new InputError(
          'E_DATA_LINE',
          `${WHAT}: ${path} line ${line} must be a JSON object like {"${textField}": "...", "${labelField}": "..."}.`,
          {
            details: { path, line },
          },
        );
      }
      const object = value as Record<string, unknown>;
      const text = object[textField];
      if (typeof text !== 'string') {
        throw new InputError('E_DATA_LINE', `${WHAT}: ${path} line ${line} has no string field '${textField}'.`, {
          details: { path, line, field: textField },
        });
      }
      const label = labelName(object[labelField]);
      if (label === undefined) {
        throw new InputError(
          'E_DATA_LINE',
          `${WHAT}: ${path} line ${line} has no label in field '${labelField}' (a non-empty string, number or boolean).`,
          {
            details: { path, line, field: labelField },
          },
        );
      }
      records.push({ text, label, line });
    });
  return recordsToDataset(records, path, options, WHAT);
}
