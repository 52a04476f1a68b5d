// Colour scales as lookup tables: a sequential one for attention weights and a
// diverging one, centred exactly on zero, for patching results and activations.
// Their constants are defined once, in colorscale.json (in the Python package, whose static HTML
// copies of the widgets load the same file); each entry there is { description, value }.
import spec from '../../../py_src/lenslab/widgets/colorscale.json';

export type RGB = readonly [number, number, number];

/** An [r, g, b] entry of colorscale.json, checked so a malformed file fails at load, not as odd colours. */
function rgb(value: readonly number[]): RGB {
  if (value.length !== 3 || !value.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) {
    throw new Error(`colorscale.json: not an [r, g, b] colour: ${JSON.stringify(value)}`);
  }
  return [value[0], value[1], value[2]];
}

/** White to deep blue (attention weights in [0, 1]). */
export const SEQUENTIAL_STOPS: readonly RGB[] = spec.sequential_stops.value.map((s) => rgb(s));

/**
 * Red (negative) through near-white (zero) to blue (positive), the "RdBu" convention
 * that TransformerLens' patching plots use, so positive restoration reads as blue.
 */
export const DIVERGING_STOPS: readonly RGB[] = spec.diverging_stops.value.map((s) => rgb(s));

/** Cells holding NaN or +-Infinity: a mid grey that no stop of either scale uses. */
export const NAN_COLOR: RGB = rgb(spec.nan_color.value);

/** Odd so that the middle entry sits exactly on the centre value of a diverging scale. */
export const LUT_SIZE: number = spec.lut_size.value;

/** Relative luminance above which black text has more contrast than white (they tie there, ~4.58:1). */
export const BLACK_TEXT_ABOVE: number = spec.black_text_above.value;

export interface ColorScale {
  kind: 'sequential' | 'diverging';
  min: number;
  max: number;
  /** LUT_SIZE RGBA entries. */
  lut: Uint8ClampedArray;
  stops: readonly RGB[];
}

const toLinear = (c: number): number => {
  const s = c / 255;
  return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
};
const fromLinear = (l: number): number => {
  const s = l <= 0.0031308 ? l * 12.92 : 1.055 * l ** (1 / 2.4) - 0.055;
  return Math.round(Math.min(1, Math.max(0, s)) * 255);
};

/** Samples evenly spaced stops at `size` points, blending in linear light. */
export function buildLut(stops: readonly RGB[], size = LUT_SIZE): Uint8ClampedArray {
  if (stops.length < 2) throw new Error('a colour scale needs at least two stops');
  const lut = new Uint8ClampedArray(size * 4);
  const segments = stops.length - 1;
  for (let i = 0; i < size; i++) {
    const t = size === 1 ? 0 : (i / (size - 1)) * segments;
    const k = Math.min(segments - 1, Math.floor(t));
    const f = t - k;
    for (let ch = 0; ch < 3; ch++) {
      const a = toLinear(stops[k][ch]);
      const b = toLinear(stops[k + 1][ch]);
      lut[i * 4 + ch] = fromLinear(a + (b - a) * f);
    }
    lut[i * 4 + 3] = 255;
  }
  return lut;
}

const lutCache = new Map<readonly RGB[], Uint8ClampedArray>();
function cachedLut(stops: readonly RGB[]): Uint8ClampedArray {
  let lut = lutCache.get(stops);
  if (!lut) {
    lut = buildLut(stops);
    lutCache.set(stops, lut);
  }
  return lut;
}

export function sequentialScale(min: number, max: number): ColorScale {
  if (!(max > min)) max = min + 1;
  return { kind: 'sequential', min, max, lut: cachedLut(SEQUENTIAL_STOPS), stops: SEQUENTIAL_STOPS };
}

/** Symmetric range [-vmax, vmax]: zero always maps to the middle (white) entry. */
export function divergingScale(vmax: number): ColorScale {
  const m = Number.isFinite(vmax) && vmax > 0 ? vmax : 1;
  return { kind: 'diverging', min: -m, max: m, lut: cachedLut(DIVERGING_STOPS), stops: DIVERGING_STOPS };
}

/** LUT entry for a value (clamped to the range), or -1 for NaN / infinities. */
export function lutIndex(scale: ColorScale, v: number): number {
  if (!Number.isFinite(v)) return -1;
  return clampIndex(centredIndex(v, (scale.min + scale.max) / 2, (LUT_SIZE - 1) / (scale.max - scale.min)));
}

const MID = (LUT_SIZE - 1) / 2;

/** Rounds away from the centre value, so +v and -v land on mirrored entries. */
function centredIndex(v: number, centre: number, k: number): number {
  const d = (v - centre) * k;
  return d >= 0 ? MID + Math.round(d) : MID - Math.round(-d);
}

function clampIndex(i: number): number {
  return i < 0 ? 0 : i >= LUT_SIZE ? LUT_SIZE - 1 : i;
}

export function rgbOf(scale: ColorScale, v: number): RGB {
  const i = lutIndex(scale, v);
  if (i < 0) return NAN_COLOR;
  return [scale.lut[i * 4], scale.lut[i * 4 + 1], scale.lut[i * 4 + 2]];
}

export function cssColor(rgb: RGB): string {
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

export function colorOf(scale: ColorScale, v: number): string {
  return cssColor(rgbOf(scale, v));
}

/** WCAG relative luminance of an sRGB colour. */
export function luminance(rgb: RGB): number {
  return 0.2126 * toLinear(rgb[0]) + 0.7152 * toLinear(rgb[1]) + 0.0722 * toLinear(rgb[2]);
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrastRatio(a: RGB, b: RGB): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * Black or white, whichever has the higher WCAG contrast on `rgb`: they tie at luminance
 * BLACK_TEXT_ABOVE (4.58:1), so every background gets at least AA's 4.5:1.
 */
export function textColorOn(rgb: RGB): string {
  return luminance(rgb) > BLACK_TEXT_ABOVE ? '#000' : '#fff';
}

/**
 * Writes RGBA pixels for `count` values starting at `offset` into `out` (4 bytes each).
 * The hot loop of every heatmap: no allocation, one table lookup per value.
 */
export function paintValues(
  out: Uint8ClampedArray,
  values: ArrayLike<number>,
  scale: ColorScale,
  offset = 0,
  count = values.length - offset,
): void {
  const lut = scale.lut;
  const centre = (scale.min + scale.max) / 2;
  const k = (LUT_SIZE - 1) / (scale.max - scale.min);
  const last = LUT_SIZE - 1;
  for (let i = 0; i < count; i++) {
    const v = values[offset + i];
    const o = i * 4;
    if (v !== v || v === Infinity || v === -Infinity) {
      out[o] = NAN_COLOR[0];
      out[o + 1] = NAN_COLOR[1];
      out[o + 2] = NAN_COLOR[2];
      out[o + 3] = 255;
      continue;
    }
    const d = (v - centre) * k;
    let j = d >= 0 ? MID + Math.round(d) : MID - Math.round(-d);
    j = j < 0 ? 0 : j > last ? last : j;
    const s = j * 4;
    out[o] = lut[s];
    out[o + 1] = lut[s + 1];
    out[o + 2] = lut[s + 2];
    out[o + 3] = 255;
  }
}

/** Up to about `count` round tick values covering [min, max] (1, 2, 5 x 10^k steps). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const fits = (step: number): boolean => Math.floor(max / step + 1e-9) - Math.ceil(min / step - 1e-9) + 1 <= count;
  // The finest round step that still gives at most `count` ticks.
  const step = [1, 2, 5, 10, 20].map((m) => m * mag).find(fits) ?? 20 * mag;
  const ticks: number[] = [];
  const first = Math.ceil(min / step - 1e-9);
  const lastTick = Math.floor(max / step + 1e-9);
  for (let i = first; i <= lastTick; i++) {
    const v = i * step;
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return ticks;
}

/** Compact number formatting for tooltips, stats and axis ticks. */
export function formatValue(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return '–';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(Math.max(0, digits - 2));
  return String(Number(v.toPrecision(digits)));
}
