/**
 * The explanation parts of the report's adversarial-example section: per example, where the
 * model found support for the true label before and after the attack (attribution heatmaps),
 * and per set, where attacks moved that support most often (mean |Δ attribution|, with the
 * regions that hold most of it). Heatmaps are inline PNG data URIs like the examples.
 */
import type { AdversarialExample, AdversarialExampleSet } from '../../eval/adversarial-examples.js';
import { encodePng } from './png.js';
import { escapeHtml as esc } from '../svg/escape.js';

/** RGB bytes of a signed map: red where it supports the class, blue where it opposes it, white for 0. */
export function attributionRgb(values: readonly number[] | Float32Array, shape: readonly number[], scale: number): Uint8Array {
  const [height = 1, width = values.length, channels = 1] = shape.length >= 2 ? shape : [1, values.length, 1];
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    // Several channels: their sum, the pixel's total attribution.
    let d = 0;
    for (let c = 0; c < channels; c++) d += (values[p * channels + c] as number | undefined) ?? 0;
    const t = Math.min(1, Math.abs(d) / Math.max(1e-12, scale));
    const fade = Math.round(255 * (1 - t));
    rgb.set(d >= 0 ? [255, fade, fade] : [fade, fade, 255], p * 3);
  }
  return rgb;
}

/** The largest |value| summed over channels, the natural colour scale of a map. */
export function attributionScale(values: readonly number[] | Float32Array, shape: readonly number[]): number {
  const channels = shape.length >= 3 ? (shape[2] as number) : 1;
  let max = 0;
  for (let p = 0; p * channels < values.length; p++) {
    let d = 0;
    for (let c = 0; c < channels; c++) d += (values[p * channels + c] as number | undefined) ?? 0;
    max = Math.max(max, Math.abs(d));
  }
  return Math.max(max, 1e-12);
}

/** A signed map as a PNG data URI (see {@link attributionRgb}). */
export function attributionDataUri(values: readonly number[], shape: readonly number[], scale: number): string {
  const [height = 1, width = values.length] = shape.length >= 2 ? shape : [1, values.length];
  return `data:image/png;base64,${encodePng(attributionRgb(values, shape, scale), width, height, 3).toString('base64')}`;
}

/** The two attribution images of one example, or '' when it was not explained. */
export function exampleAttributionRow(item: AdversarialExample, shape: readonly number[]): string {
  const e = item.explanation;
  if (!e) return '';
  // One scale for both so the reader sees the support shrink or move.
  const scale = Math.max(attributionScale(e.clean, shape), attributionScale(e.adversarial, shape));
  const img = (values: number[], cap: string): string =>
    `<div><img alt="${cap}" src="${attributionDataUri(values, shape, scale)}"><div class="cap">${cap}</div></div>`;
  return `<div class="row">${img(e.clean, 'attr. clean')}${img(e.adversarial, 'attr. adv')}<div><div class="cap" style="width:56px;white-space:normal">ρ ${e.rankCorrelation.toFixed(2)}</div></div></div>`;
}

/** The set's summary: the mean |Δ attribution| heatmap and the regions holding most of it. */
export function explanationSummary(set: AdversarialExampleSet): string {
  const x = set.explanation;
  if (!x) return '';
  const s = x.summary;
  const heat = attributionDataUri(s.meanAbsDelta, s.shape, attributionScale(s.meanAbsDelta, s.shape));
  const regions = s.regions
    .slice(0, 3)
    .map((r) => `rows ${r.rows[0]}–${r.rows[1]}, cols ${r.cols[0]}–${r.cols[1]} (${(r.share * 100).toFixed(0)}%)`)
    .join('; ');
  const settings = Object.entries(x.settings)
    .map(([k, v]) => `${esc(k)}=${esc(String(v))}`)
    .join(', ');
  return `<div class="explain"><img alt="mean |Δ attribution|" src="${heat}"><p><strong>Where the attack moved the model's attention</strong> (mean |Δ attribution| over ${s.examples} examples, ${esc(x.method)}: ${settings}). Attributions are for the true label: red supports it, blue opposes it. Most of the shift lies in ${esc(regions)}; the clean and adversarial maps keep a mean rank correlation of ${s.meanRankCorrelation.toFixed(2)}.</p></div>`;
}
