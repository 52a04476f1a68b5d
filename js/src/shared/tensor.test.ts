import { describe, expect, it } from 'vitest';
import { decodeTensor, finiteRange, halfToFloat, index0, maxAbs, numel } from './tensor';

describe('float16 decoding', () => {
  it('decodes normal, subnormal and special bit patterns', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.33325, 5);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x8000)).toBe(-0);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('decodes a float16 payload through the lookup table', () => {
    const bits = new Uint16Array([0x3c00, 0xc000, 0x0000, 0x3800]);
    const t = decodeTensor(new DataView(bits.buffer), 'float16', [2, 2]);
    expect(Array.from(t.data)).toEqual([1, -2, 0, 0.5]);
    expect(t.shape).toEqual([2, 2]);
  });
});

describe('decodeTensor', () => {
  it('reads float32 bytes without copying when aligned', () => {
    const src = new Float32Array([1.5, -2.25, 3, 4]);
    const t = decodeTensor(new DataView(src.buffer), 'float32', [4]);
    expect(Array.from(t.data)).toEqual([1.5, -2.25, 3, 4]);
    expect(t.data.buffer).toBe(src.buffer);
  });

  it('respects the byteOffset of an unaligned DataView', () => {
    const raw = new Uint8Array(4 * 3 + 1);
    new DataView(raw.buffer).setFloat32(1, 7.5, true);
    new DataView(raw.buffer).setFloat32(5, -1, true);
    new DataView(raw.buffer).setFloat32(9, 0.25, true);
    const t = decodeTensor(new DataView(raw.buffer, 1, 12), 'float32', [3]);
    expect(Array.from(t.data)).toEqual([7.5, -1, 0.25]);
  });

  it('throws when the byte count does not match the shape', () => {
    expect(() => decodeTensor(new DataView(new ArrayBuffer(8)), 'float32', [3])).toThrow(/8 bytes but shape \[3\]/);
    expect(() => decodeTensor(null, 'float32', [1])).toThrow(/0 bytes/);
    expect(() => decodeTensor(new DataView(new ArrayBuffer(4)), 'int8' as never, [4])).toThrow(/unsupported/);
  });

  it('accepts an empty payload for a zero-size shape', () => {
    expect(decodeTensor(null, 'float32', [0]).data.length).toBe(0);
  });
});

describe('helpers', () => {
  it('indexes the first axis as a view', () => {
    const t = { data: new Float32Array([0, 1, 2, 3, 4, 5]), shape: [3, 2] };
    const row = index0(t, 1);
    expect(Array.from(row.data)).toEqual([2, 3]);
    expect(row.shape).toEqual([2]);
    expect(numel([3, 4, 5])).toBe(60);
  });

  it('finds finite ranges and counts non-finite values', () => {
    expect(finiteRange([3, NaN, -1, Infinity, 2])).toEqual({ min: -1, max: 3, nonFinite: 2 });
    expect(finiteRange([NaN])).toEqual({ min: 0, max: 0, nonFinite: 1 });
    expect(maxAbs([-4, 2])).toBe(4);
    expect(maxAbs([0, 0], 1)).toBe(1);
  });
});
