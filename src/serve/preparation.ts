/**
 * Preparing a model to go live, the same way every time: at startup, on a promotion, on a
 * rollback and when a replica follows its tag. A model is checked for a usable
 * calibration, gets its OOD detector (loaded from beside it, else fitted on its own
 * training split), and, once the canary has a probe set, runs the probes before it serves
 * a request. A model whose preparation fails never goes live: the swap is refused and the
 * current model keeps serving (fail closed). Before this, a rolled-back model served with
 * no OOD detector at all until a restart.
 */
import { DataError, ServeError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';
import { probeAccuracy, type ProbeSet } from './canary.js';
import type { ServeConfig } from './config.js';
import { fitOodForModel, modelData, withHeldOutReference } from './prepare.js';
import type { Logger } from './rollback.js';
import type { ServedModel } from './served-model.js';

export interface PreparationInputs {
  config: ServeConfig;
  /** Data to fit the OOD detector on when the model ships none (default: its training split). */
  oodData?: Dataset;
  /** Held-out data for the detector's reference scores (default: the model's validation split). */
  heldOut?: Dataset;
  log: Logger;
  /** The canary's probe set, once there is one. */
  probes: () => ProbeSet | undefined;
}

export interface Prepared {
  /** The model's accuracy on the canary probes, when the canary has a probe set. */
  canaryAccuracy: number | undefined;
}

/** Prepares one model; throws when it cannot serve (for a swap: ServeError `E_SWAP_REFUSED`). */
export type Preparer = (model: ServedModel) => Promise<Prepared>;

/**
 * A preparer whose first call is the startup model. Later models must match what the first
 * one got: the same kind and input shape (the layers were built for it) and, when the first
 * had an OOD detector, a detector of their own.
 *
 * @throws DataError `E_CALIBRATION_FILE` for an unusable temperature; later calls ServeError `E_SWAP_REFUSED`.
 */
export function modelPreparer(inputs: PreparationInputs): Preparer {
  let first: { kind: string; shape: string; ood: boolean } | undefined;
  const { config, log } = inputs;
  const fitOod = async (model: ServedModel): Promise<void> => {
    if (config.layers.ood === false || model.ood || model.view.kind !== 'image') return;
    const data = inputs.oodData ?? modelData(model, 'train', config.layers.ood.fitLimit);
    if (!data) {
      log.warn(
        { event: 'ood-unavailable', model: model.view.id },
        'no ood.json and no training data in the model metadata; the OOD layer will pass everything',
      );
      return;
    }
    let detector = await fitOodForModel(model, data);
    const heldOut = inputs.heldOut ?? modelData(model, 'validation', 500);
    if (heldOut) detector = await withHeldOutReference(model, detector, heldOut);
    model.ood = detector;
    log.info({ event: 'ood-fitted', model: model.view.id, examples: data.count, threshold: detector.threshold }, 'fitted the OOD detector');
  };
  return async (model) => {
    const startup = first === undefined;
    try {
      if (!Number.isFinite(model.temperature) || model.temperature <= 0) {
        throw new DataError(
          'E_CALIBRATION_FILE',
          `The model's calibration temperature is ${model.temperature}; it must be a number above 0.`,
        );
      }
      const shape = model.view.inputShape.join('x');
      if (first && (first.kind !== model.view.kind || first.shape !== shape)) {
        throw new DataError(
          'E_SWAP_SHAPE',
          `it is a ${model.view.kind} model taking [${shape}], the server's layers were built for a ${first.kind} model taking [${first.shape}]`,
        );
      }
      await fitOod(model);
      if (first?.ood && !model.ood)
        throw new DataError(
          'E_OOD_MISSING',
          'it has no OOD detector (no ood.json and no training data in its metadata) and the live model has one',
        );
      const probes = inputs.probes();
      const canaryAccuracy = probes ? await probeAccuracy(model, probes) : undefined;
      first ??= { kind: model.view.kind, shape, ood: model.ood !== undefined };
      return { canaryAccuracy };
    } catch (error) {
      if (startup) throw error;
      const why = error instanceof Error ? error.message : String(error);
      throw new ServeError(
        'E_SWAP_REFUSED',
        'rejected',
        `Model ${model.view.id} was not made live because preparing it failed (${why}); the current model keeps serving.`,
        { cause: error },
      );
    }
  };
}
