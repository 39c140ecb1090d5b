/** Users' own labelled text as CSV (RFC 4180): a header row naming the text and label columns. */
import { InputError } from '../../core/errors.js';
import { labelName, readTextFile, recordsToDataset, type LabelledRecord, type LabelledTextOptions } from './labelled-records.js';
import type { TextDataset } from './text-dataset.js';

const WHAT = 'loadCsvTexts';

export interface CsvTextOptions extends LabelledTextOptions {
  /** Field separator; default `,`. */
  readonly delimiter?: string;
}

/**
 * Loads a CSV file whose header names a text column and a label column (other columns are
 * ignored). Quoted fields may hold delimiters, doubled quotes and line breaks.
 *
 * @throws DataError `E_DATA_MISSING` / `E_DATA_READ` when the file is missing or unreadable.
 * @throws InputError `E_CSV_HEADER` when the header lacks the text or label column;
 *   `E_DATA_LINE` for a row with the wrong number of fields, an unterminated quote or an
 *   empty label (naming the line); `E_UNKNOWN_LABEL` for a label not in `options.classes`;
 *   `E_TEXT_DATASET` for no rows or a single class.
 * @example
 * const ds = loadCsvTexts('data/messages.csv', { textField: 'body', labelField: 'class' });
 */
export function loadCsvTexts(path: string, options: CsvTextOptions = {}): TextDataset {
  const delimiter = options.delimiter ?? ',';
  const textField = options.textField ?? 'text';
  const labelField = options.labelField ?? 'label';
  const rows = parseCsv(readTextFile(path, WHAT), delimiter, path);
  const header = rows.shift();
  const columns = header?.fields.map((f) => f.trim()) ?? [];
  const textCol = columns.indexOf(textField);
  const labelCol = columns.indexOf(labelField);
  if (textCol < 0 || labelCol < 0) {
    const missing = textCol < 0 ? textField : labelField;
    throw new InputError(
      'E_CSV_HEADER',
      `${WHAT}: ${path} line 1: the header has no column '${missing}' (columns: ${columns.join(', ') || 'none'}); pass textField/labelField to name yours.`,
      {
        details: { path, columns, missing },
      },
    );
  }
  const records: LabelledRecord[] = [];
  for (const row of rows) {
    if (row.fields.length === 1 && row.fields[0] === '') continue;
    if (row.fields.length !== columns.length) {
      throw new InputError(
        'E_DATA_LINE',
        `${WHAT}: ${path} line ${row.line} has ${row.fields.length} fields; the header has ${columns.length}.`,
        {
          details: { path, line: row.line, fields: row.fields.length, expected: columns.length },
        },
      );
    }
    const label = labelName(row.fields[labelCol]);
    if (label === undefined) {
      throw new InputError('E_DATA_LINE', `${WHAT}: ${path} line ${row.line} has an empty '${labelField}'.`, {
        details: { path, line: row.line },
      });
    }
    records.push({ text: row.fields[textCol] as string, label, line: row.line });
  }
  return recordsToDataset(records, path, options, WHAT);
}

interface CsvRow {
  fields: string[];
  line: number;
}

function parseCsv(text: string, delimiter: string, path: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let inQuotes = false;
  let quoteLine = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') {
      inQuotes = true;
      quoteLine = line;
    } else if (ch === delimiter) {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      rows.push({ fields, line: rowLine });
      fields = [];
      field = '';
      line++;
      rowLine = line;
    } else field += ch;
  }
  if (inQuotes) {
    throw new InputError('E_DATA_LINE', `${WHAT}: ${path} line ${quoteLine}: a quoted field is never closed; end it with '"'.`, {
      details: { path, line: quoteLine },
    });
  }
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    rows.push({ fields, line: rowLine });
  }
  return rows;
}
