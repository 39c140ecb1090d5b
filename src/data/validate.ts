/**
 * Checks a data set is consistent before it reaches a model. Loaders build data from
 * files and user code builds it by hand; both can be wrong in ways TF.js would only
 * report as a shape error deep inside training, or not at all (NaN pixels).
 */
import { InputError } from '../core/errors.js';
import { sizeOf, type Dataset } from '../core/types.js';

/**
 * Throws on the first problem found and returns the data set unchanged otherwise, so it
 * can wrap a loader call. Messages name the first bad example, feature and value.
 *
 * @throws {InputError} `E_DATA_SHAPE` if the shape is not positive integers, `x` or `y`
 *   have the wrong type or length, or `numClasses` is not a positive integer;
 *   `E_BOUNDS` if `bounds` are not finite with `min <= max`; `E_LABEL_RANGE` if a label
 *   is outside `[0, numClasses)`; `E_NON_FINITE` if a feature is NaN or infinite;
 *   `E_OUT_OF_BOUNDS` if a feature lies outside `bounds`.
 * @example
 * const ds = validateDataset(loadIdxDataset({ images, labels }));
 */
export function validateDataset(ds: Dataset): Dataset {
  checkShape(ds);
  checkLabels(ds);
  checkFeatures(ds);
  return ds;
}

function checkShape(ds: Dataset): void {
  const fail = (problem: string, details: Record<string, unknown>): never => {
    throw new InputError('E_DATA_SHAPE', `Data set '${ds.name}': ${problem}.`, { details: { dataset: ds.name, ...details } });
  };
  if (!Array.isArray(ds.shape) || ds.shape.length === 0 || !ds.shape.every((d) => Number.isInteger(d) && d > 0)) {
    fail(`shape must be a non-empty list of positive integers, got ${JSON.stringify(ds.shape)}`, { shape: ds.shape });
  }
  if (!Number.isInteger(ds.count) || ds.count < 0) fail(`count must be a non-negative integer, got ${ds.count}`, { count: ds.count });
  if (!(ds.x instanceof Float32Array)) fail('x must be a Float32Array', {});
  if (!(ds.y instanceof Int32Array)) fail('y must be an Int32Array', {});
  const expected = ds.count * sizeOf(ds.shape);
  if (ds.x.length !== expected) {
    fail(`x has ${ds.x.length} values, expected count * size(shape) = ${ds.count} * ${sizeOf(ds.shape)} = ${expected}`, {
      actual: ds.x.length,
      expected,
    });
  }
  if (ds.y.length !== ds.count)
    fail(`y has ${ds.y.length} labels, expected count = ${ds.count}`, { actual: ds.y.length, expected: ds.count });
  if (!Number.isInteger(ds.numClasses) || ds.numClasses <= 0) {
    fail(`numClasses must be a positive integer, got ${ds.numClasses}`, { numClasses: ds.numClasses });
  }
  const { min, max } = ds.bounds ?? {};
  if (!Number.isFinite(min) || !Number.isFinite(max) || (min as number) > (max as number)) {
    throw new InputError('E_BOUNDS', `Data set '${ds.name}': bounds must be finite with min <= max, got ${JSON.stringify(ds.bounds)}.`, {
      details: { dataset: ds.name, bounds: ds.bounds },
    });
  }
}

function checkLabels(ds: Dataset): void {
  const index = ds.y.findIndex((label) => label < 0 || label >= ds.numClasses);
  if (index < 0) return;
  throw new InputError(
    'E_LABEL_RANGE',
    `Data set '${ds.name}': label ${ds.y[index]} of example ${index} is outside [0, ${ds.numClasses}).`,
    { details: { dataset: ds.name, index, value: ds.y[index], numClasses: ds.numClasses } },
  );
}

function checkFeatures(ds: Dataset): void {
  const size = sizeOf(ds.shape);
  const x = ds.x;
  const locate = (i: number) => ({ dataset: ds.name, index: i, example: Math.floor(i / size), feature: i % size, value: x[i] });

  // Non-finite values first, in their own pass: a NaN usually means a broken
  // preprocessing step, which is the more useful thing to report than a stray bound.
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    const where = locate(bad);
    throw new InputError('E_NON_FINITE', `Data set '${ds.name}': feature ${where.feature} of example ${where.example} is ${where.value}.`, {
      details: where,
    });
  }

  // Features are float32 while bounds are float64: a value clamped to 0.3 and stored
  // becomes fround(0.3) > 0.3, which is still inside the bounds in any sense that matters.
  const min = Math.fround(ds.bounds.min);
  const max = Math.fround(ds.bounds.max);
  const outside = x.findIndex((v) => v < min || v > max);
  if (outside >= 0) {
    const where = locate(outside);
    throw new InputError(
      'E_OUT_OF_BOUNDS',
      `Data set '${ds.name}': feature ${where.feature} of example ${where.example} is ${where.value}, outside bounds [${ds.bounds.min}, ${ds.bounds.max}].`,
      { details: { ...where, bounds: ds.bounds } },
    );
  }
}
