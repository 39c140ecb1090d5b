/** What the ensemble layer asks of a member model. */
import type { ImageBatch } from '../layer.js';

export interface EnsembleMember {
  readonly id: string;
  /** Predicted class per example of an image batch. */
  predictBatch?(batch: ImageBatch): Int32Array | Promise<Int32Array>;
  /** Predicted class per text. */
  predictTexts?(texts: readonly string[]): Int32Array | Promise<Int32Array>;
}
