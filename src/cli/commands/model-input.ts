/**
 * The `--model` of `rampart eval` and `rampart attack`: any model source (a saved-model
 * directory, `model.onnx`, `onnx:…`, `onnxruntime:…`, `tfjs:…`, `http://…`) loaded through
 * `loadModelSource`, with the data it is evaluated on. A model Rampart trained defaults to
 * the held-out split of its own training data; any other model needs `--data`.
 */
import { RampartError, UsageError } from '../../core/errors.js';
import { inferLayout } from '../../models/preprocess.js';
import { parseDataSpec, toDataSourceSpec, type DataSourceSpec } from '../../data/index.js';
import { readModelMetadata } from '../../models/io/index.js';
import { describeModelSource, loadModelSource, parseModelSource, type ModelSourceSpec } from '../../models/sources/load.js';
import type { LoadedModel } from '../../models/sources/types.js';
import { TEXT_CLASSIFIER_FORMAT } from '../../models/text/store.js';
import { selectData, type SelectedData, type SubsetName } from '../../pipeline/data-selection.js';
import type { DataFlags } from './shared.js';

export interface ModelInput {
  spec: ModelSourceSpec;
  /** How reports name it: `built:DIR`, `onnx:PATH`, the URL. */
  name: string;
  loaded: LoadedModel;
  /** The temperature saved with a model Rampart calibrated. */
  temperature?: number;
  data: SelectedData;
}

/** What a model Rampart saved says about its training data and calibration; read leniently (the loader validates). */
interface SavedInfo {
  data?: { spec?: unknown; split?: { seed: number; fractions: { train: number; validation: number; test: number } } };
  temperature?: number;
}

/**
 * Parses `--model`.
 *
 * @throws UsageError `E_MISSING_FLAG` without one, `E_MODEL_SOURCE` for one that does not parse.
 */
export function modelFlag(model: string | undefined): ModelSourceSpec {
  if (!model)
    throw new UsageError(
      'E_MISSING_FLAG',
      'Give the model with --model: a directory Rampart saved (model.json + weights.bin), model.onnx, onnx:PATH, onnxruntime:PATH, tfjs:PATH or http://….',
    );
  return parseModelSource(model);
}

/** True when `--model` names a saved text filter (its model.json carries the text classifier format). */
export async function isTextModel(spec: ModelSourceSpec): Promise<boolean> {
  if (spec.kind !== 'built') return false;
  try {
    return (await readModelMetadata(spec.path)).format === TEXT_CLASSIFIER_FORMAT;
  } catch {
    return false;
  }
}

async function savedInfo(spec: ModelSourceSpec): Promise<SavedInfo> {
  if (spec.kind !== 'built') return {};
  try {
    const rampart = (await readModelMetadata(spec.path)).rampart;
    return rampart !== null && typeof rampart === 'object' ? (rampart as SavedInfo) : {};
  } catch {
    // The loader reports an unreadable model with its own error.
    return {};
  }
}

/**
 * Loads the model and the data it is evaluated on: `--data` when given, else (a model
 * Rampart trained) the held-out split of its training data. The caller disposes `loaded`.
 *
 * @throws UsageError `E_MISSING_FLAG` when `--data` is needed; whatever the source's loader and the data loader throw.
 */
export async function loadModelInput(model: string | undefined, flags: DataFlags): Promise<ModelInput> {
  const spec = modelFlag(model);
  const info = await savedInfo(spec);
  const trained = info.data;
  if (flags.data === undefined && trained?.spec === undefined && spec.kind !== 'built')
    throw new UsageError(
      'E_MISSING_FLAG',
      `Give the data to evaluate ${describeModelSource(spec)} on with --data (e.g. --data mnist): only a model Rampart trained knows its own data.`,
    );
  const dataSpec: DataSourceSpec =
    flags.data !== undefined ? parseDataSpec(flags.data) : trained?.spec !== undefined ? toDataSourceSpec(trained.spec) : 'mnist';
  const select = (expectShape: readonly number[]): SelectedData =>
    selectData({
      spec: dataSpec,
      subset: flags.subset as SubsetName,
      splitSeed: flags.splitSeed ?? trained?.split?.seed ?? 1,
      ...(trained?.split && flags.data === undefined ? { fractions: trained.split.fractions } : {}),
      ...(flags.limit === undefined ? {} : { limit: flags.limit }),
      // A mismatch is refused before the model sees it, with the fix for this kind of source (resize, ignoreColumns...).
      expectShape,
    });
  let source = spec;
  let loaded = await loadModelSource(source);
  let data: SelectedData;
  try {
    try {
      data = select(loaded.classifier.inputShape);
    } catch (error) {
      const channelsFirst = channelsFirstSource(spec, loaded.classifier.inputShape, error);
      if (!channelsFirst) throw error;
      // An exported PyTorch model takes NCHW and declares no layout on the command line: read the data channels-first.
      loaded.dispose();
      source = channelsFirst;
      loaded = await loadModelSource(source);
      data = select(loaded.classifier.inputShape);
      process.stderr.write(
        `note: ${describeModelSource(spec)} takes its input channels-first; the data is fed to it as NCHW ` +
          '(in a plan, declare preprocess: { layout: nchw } under model.source).\n',
      );
    }
  } catch (error) {
    loaded.dispose();
    throw error;
  }
  return {
    spec: source,
    name: spec.kind === 'built' ? spec.path : describeModelSource(spec),
    loaded,
    ...(typeof info.temperature === 'number' ? { temperature: info.temperature } : {}),
    data,
  };
}

/**
 * The source again with `layout: 'nchw'` when it declared no layout and the data is the
 * model's input channels-last (the shape check's error carries the data's shape); else undefined.
 */
function channelsFirstSource(spec: ModelSourceSpec, modelShape: readonly number[], error: unknown): ModelSourceSpec | undefined {
  if (spec.kind !== 'onnx' && spec.kind !== 'onnxruntime' && spec.kind !== 'tfjs') return undefined;
  if (spec.preprocess?.layout !== undefined) return undefined;
  if (!(error instanceof RampartError) || error.code !== 'E_INPUT_SHAPE') return undefined;
  const dataShape = (error.details as { shape?: unknown } | undefined)?.shape;
  if (!Array.isArray(dataShape) || inferLayout(modelShape, dataShape as number[]) !== 'nchw') return undefined;
  return { ...spec, preprocess: { ...spec.preprocess, layout: 'nchw' } };
}
