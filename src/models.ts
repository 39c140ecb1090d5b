/** `rampart/models`: classifiers, architectures, model files, calibration, text models. */
export type { Classifier } from './models/classifier.js';
export { TfjsClassifier } from './models/tfjs-classifier.js';
export { buildModel, ARCHITECTURES, type ArchitectureId } from './models/architectures.js';
export { saveModel, loadModel, readModelMetadata } from './models/io/index.js';
export { saveClassifierModel, loadClassifierModel, type ModelInfo, type StoredClassifier } from './models/store.js';
export { predictClasses, accuracyOf } from './models/predict.js';
export * from './models/text/index.js';
export {
  CalibratedClassifier,
  saveTemperature,
  loadCalibratedClassifier,
  predictWithAbstention,
  selectiveMetrics,
  chooseAbstentionThreshold,
  abstentionReport,
  type AbstentionResult,
  type AbstentionReport,
  type AbstentionTarget,
  type SelectiveMetrics,
} from './models/calibrated-classifier.js';
export { predictBatch } from './models/predict.js';
export { accessOf, TARGET_ACCESS, type TargetAccess } from './models/classifier.js';
export { loadTfjsModel, type TfjsSourceSpec } from './models/tfjs-source.js';
export {
  loadHttpModel,
  HttpClassifier,
  httpTargetSpecSchema,
  parseHttpTargetSpec,
  queryBudgetOf,
  describeServeTarget,
  type ServeTargetInput,
  type HttpTargetSpec,
  type HttpTargetSpecInput,
  type HttpTargetStats,
  type LoadedHttpModel,
  type QueryBudgeted,
} from './models/http/index.js';
export {
  loadOnnxModel,
  importOnnx,
  onnxSourceOf,
  OnnxClassifier,
  OnnxGraph,
  SUPPORTED_OPS as ONNX_SUPPORTED_OPS,
  DEFAULT_ONNX_LIMITS,
  type OnnxModelSpec,
  type OnnxSource,
  type OnnxLimits,
  type OnnxGraphInfo,
} from './models/onnx/index.js';
export { loadOnnxRuntimeModel, OnnxRuntimeClassifier, DEFAULT_ORT_CHUNK_ROWS } from './models/onnxruntime/index.js';
export { checkOnnxFile, type ModelCheckReport, type ModelCheckOptions, type TensorSignature } from './models/onnxruntime/check.js';
export { PreprocessedClassifier, withPreprocessing, checkPreprocessing } from './models/preprocess.js';
export { inferLayout, isIdentityPreprocessing } from './models/preprocess.js';
export { trainableOnnx, exportOnnxWeights, type TrainableOnnx } from './models/onnx/trainable.js';
export {
  loadModelSource,
  parseModelSource,
  describeModelSource,
  isWhiteBoxSource,
  modelSourceSchema,
  type ModelSourceSpec,
  type ModelSourceInput,
} from './models/sources/load.js';
export type { LoadedModel, ModelIdentity, ModelSourceKind, Preprocessing } from './models/sources/types.js';
