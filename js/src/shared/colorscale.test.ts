import { describe, expect, it } from 'vitest';
import spec from '../../../py_src/lenslab/widgets/colorscale.json';
import {
  BLACK_TEXT_ABOVE,
  DIVERGING_STOPS,
  LUT_SIZE,
  NAN_COLOR,
  SEQUENTIAL_STOPS,
  buildLut,
  colorOf,
  divergingScale,
  formatValue,
  luminance,
  lutIndex,
  niceTicks,
  paintValues,
  rgbOf,
  sequentialScale,
  textColorOn,
} from './colorscale';

const css = (rgb: readonly number[]): string => `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;

// The constants' one definition is colorscale.json, which the static HTML copies (Python,
// lenslab/widgets/_colors.py, checked by tests/lenslab/test_colors.py) load too.
describe('constants', () => {
  it('are the values of py_src/lenslab/widgets/colorscale.json', () => {
    expect(SEQUENTIAL_STOPS).toEqual(spec.sequential_stops.value);
    expect(DIVERGING_STOPS).toEqual(spec.diverging_stops.value);
    expect(NAN_COLOR).toEqual(spec.nan_color.value);
    expect(LUT_SIZE).toBe(spec.lut_size.value);
    expect(BLACK_TEXT_ABOVE).toBe(spec.black_text_above.value);
  });

  it('describe themselves', () => {
    const { description, ...entries } = spec;
    expect(description).toMatch(/colorscale\.ts/);
    expect(Object.keys(entries).sort()).toEqual(['black_text_above', 'diverging_stops', 'lut_size', 'nan_color', 'sequential_stops']);
    for (const entry of Object.values(entries)) {
      expect(Object.keys(entry).sort()).toEqual(['description', 'value']);
      expect(entry.description.trim()).not.toBe('');
    }
  });

  it('give full tables whose ends are the end stops', () => {
    for (const stops of [SEQUENTIAL_STOPS, DIVERGING_STOPS]) {
      const lut = buildLut(stops);
      expect(lut.length).toBe(LUT_SIZE * 4);
      expect(Array.from(lut.slice(0, 3))).toEqual([...stops[0]]);
      expect(Array.from(lut.slice(-4, -1))).toEqual([...stops[stops.length - 1]]);
    }
  });
});

describe('diverging scale', () => {
  const scale = divergingScale(2);

  it('is centred exactly on zero (the middle stop)', () => {
    expect(lutIndex(scale, 0)).toBe((LUT_SIZE - 1) / 2);
    expect(colorOf(scale, 0)).toBe(css(DIVERGING_STOPS[(DIVERGING_STOPS.length - 1) / 2]));
  });

  it('maps the ends of the symmetric range to the end stops and clamps beyond', () => {
    expect(colorOf(scale, -2)).toBe(css(DIVERGING_STOPS[0]));
    expect(colorOf(scale, 2)).toBe(css(DIVERGING_STOPS[DIVERGING_STOPS.length - 1]));
    expect(colorOf(scale, 50)).toBe(colorOf(scale, 2));
    expect(colorOf(scale, -50)).toBe(colorOf(scale, -2));
  });

  it('is mirror-symmetric: red for negative, blue for positive', () => {
    for (const v of [0.1, 0.5, 1, 1.7]) {
      expect(lutIndex(scale, -v) + lutIndex(scale, v)).toBe(LUT_SIZE - 1);
      const [rn, , bn] = rgbOf(scale, -v);
      const [rp, , bp] = rgbOf(scale, v);
      expect(rn).toBeGreaterThan(bn);
      expect(bp).toBeGreaterThan(rp);
    }
  });

  it('gets darker away from zero', () => {
    const lum = (v: number): number => rgbOf(scale, v).reduce((a, b) => a + b, 0);
    expect(lum(0.5)).toBeLessThan(lum(0.1));
    expect(lum(-1.5)).toBeLessThan(lum(-0.5));
  });

  it('falls back to a unit range for a zero or invalid vmax', () => {
    expect(divergingScale(0).max).toBe(1);
    expect(divergingScale(NaN).min).toBe(-1);
  });
});

describe('sequential scale', () => {
  it('runs from white at the minimum to the darkest stop at the maximum', () => {
    const scale = sequentialScale(0, 1);
    expect(colorOf(scale, 0)).toBe('rgb(255, 255, 255)');
    expect(colorOf(scale, 1)).toBe(css(SEQUENTIAL_STOPS[SEQUENTIAL_STOPS.length - 1]));
  });

  it('survives an empty range', () => {
    const scale = sequentialScale(3, 3);
    expect(scale.max).toBeGreaterThan(scale.min);
  });
});

describe('lookup tables and painting', () => {
  it('builds opaque entries that pass through every stop', () => {
    const lut = buildLut(SEQUENTIAL_STOPS, 6);
    for (let i = 0; i < 6; i++) {
      expect(Array.from(lut.slice(i * 4, i * 4 + 4))).toEqual([...SEQUENTIAL_STOPS[i], 255]);
    }
  });

  it('paints NaN and infinities in the marked colour', () => {
    const scale = divergingScale(1);
    const out = new Uint8ClampedArray(16);
    paintValues(out, [NaN, Infinity, -Infinity, 0], scale);
    for (let i = 0; i < 3; i++) expect(Array.from(out.slice(i * 4, i * 4 + 3))).toEqual([...NAN_COLOR]);
    expect(Array.from(out.slice(12, 15))).toEqual([...rgbOf(scale, 0)]);
    expect(lutIndex(scale, NaN)).toBe(-1);
  });

  it('paints a sub-range with an offset', () => {
    const scale = sequentialScale(0, 1);
    const out = new Uint8ClampedArray(4);
    paintValues(out, [0, 1], scale, 1, 1);
    expect(Array.from(out.slice(0, 3))).toEqual([...SEQUENTIAL_STOPS[SEQUENTIAL_STOPS.length - 1]]);
  });

  it('chooses readable text on light and dark cells', () => {
    expect(textColorOn([255, 255, 255])).toBe('#000');
    expect(textColorOn([8, 48, 107])).toBe('#fff');
  });

  it('switches text to black exactly above BLACK_TEXT_ABOVE, on every table entry', () => {
    for (const stops of [SEQUENTIAL_STOPS, DIVERGING_STOPS]) {
      const lut = buildLut(stops);
      for (let i = 0; i < LUT_SIZE; i++) {
        const rgb = [lut[i * 4], lut[i * 4 + 1], lut[i * 4 + 2]] as const;
        expect(textColorOn(rgb)).toBe(luminance(rgb) > BLACK_TEXT_ABOVE ? '#000' : '#fff');
      }
    }
  });
});

describe('ticks and number formatting', () => {
  it('gives round, evenly spaced ticks inside the range', () => {
    const ticks = niceTicks(-0.37, 0.37, 5);
    expect(ticks).toContain(0);
    expect(ticks[0]).toBeGreaterThanOrEqual(-0.37);
    expect(ticks[ticks.length - 1]).toBeLessThanOrEqual(0.37);
    const steps = ticks.slice(1).map((t, i) => +(t - ticks[i]).toFixed(9));
    expect(new Set(steps).size).toBe(1);
    expect(niceTicks(0, 1, 6)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(2, 2)).toEqual([2]);
    expect(niceTicks(NaN, 1)).toEqual([]);
  });

  it('formats values compactly', () => {
    expect(formatValue(0)).toBe('0');
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(-2.5)).toBe('-2.5');
    expect(formatValue(1234567)).toBe('1.23e+6');
    expect(formatValue(0.0000123)).toBe('1.23e-5');
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(-Infinity)).toBe('-inf');
    expect(formatValue(null)).toBe('–');
  });
});

describe('colour bar ticks', () => {
  it('label both ends of the scale and round values in between, about every 28 px', async () => {
    const { colorbarTicks } = await import('./colorbar');
    const ticks = colorbarTicks(divergingScale(0.73), 240).map((t) => t.label);
    expect(ticks[0]).toBe('-0.73');
    expect(ticks[ticks.length - 1]).toBe('0.73');
    expect(ticks).toContain('0');
    expect(ticks.length).toBeGreaterThanOrEqual(7);
    expect(colorbarTicks(divergingScale(4), 120).map((t) => t.label)).toEqual(['-4', '-2', '0', '2', '4']);
  });
});
