/**
 * What the JSONL and CSV loaders share: reading the file with clear errors, and turning
 * `{ text, label }` records into a {@link TextDataset} with a fixed class order.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DataError, InputError, listChoices } from '../../core/errors.js';
import type { TextDataset } from './text-dataset.js';

export interface LabelledTextOptions {
  /**
   * Class names in label order. When given, a record whose label is not one of them is an
   * error; when omitted, the classes are the distinct labels found, sorted.
   */
  readonly classes?: readonly string[];
  /** Field (JSONL) or column (CSV) holding the text; default `text`. */
  readonly textField?: string;
  /** Field or column holding the label; default `label`. */
  readonly labelField?: string;
  /** Data set name; default the file's base name. */
  readonly name?: string;
}

/** One parsed record and the 1-based line it starts on, for error messages. */
export interface LabelledRecord {
  readonly text: string;
  readonly label: string;
  readonly line: number;
}

/** Reads a UTF-8 file, mapping a missing or unreadable file to a DataError. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new DataError('E_DATA_MISSING', `${what}: file not found: ${path}. Check the path.`, { cause, details: { path } });
    }
    throw new DataError('E_DATA_READ', `${what}: cannot read ${path} (${code ?? String(cause)}).`, { cause, details: { path } });
  }
}

/** A label value as a class name: strings as they are, integers and booleans as text. */
export function labelName(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

/** Builds the data set; unknown labels and too few classes are input errors naming the line. */
export function recordsToDataset(
  records: readonly LabelledRecord[],
  path: string,
  options: LabelledTextOptions,
  what: string,
): TextDataset {
  const classes = options.classes ?? [...new Set(records.map((r) => r.label))].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  const labels = records.map((r) => {
    const k = index.get(r.label);
    if (k === undefined) {
      throw new InputError(
        'E_UNKNOWN_LABEL',
        `${what}: ${path} line ${r.line}: unknown label '${r.label}'; expected ${listChoices(classes)}.`,
        {
          details: { path, line: r.line, label: r.label, classes },
        },
      );
    }
    return k;
  });
  if (records.length === 0) {
    throw new InputError('E_TEXT_DATASET', `${what}: ${path} holds no records; expected one { text, label } record per line.`, {
      details: { path },
    });
  }
  if (classes.length < 2) {
    throw new InputError(
      'E_TEXT_DATASET',
      `${what}: ${path} has only the label ${listChoices(classes)}; a classifier needs at least 2 classes.`,
      {
        details: { path, classes },
      },
    );
  }
  return { name: options.name ?? basename(path), texts: records.map((r) => r.text), labels, classes };
}
