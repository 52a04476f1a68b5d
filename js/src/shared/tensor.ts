// Decoding the binary tensor payload (bytes + dtype + shape traits) into Float32Arrays.
import type { DType } from './types';

export interface Tensor {
  data: Float32Array;
  shape: number[];
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Converts one IEEE 754 half-precision bit pattern to a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// A 64K lookup table decodes float16 about an order of magnitude faster than
// calling halfToFloat per element (12x512x512 patterns are 3.1M values).
let halfTable: Float32Array | null = null;
function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = halfToFloat(i);
  }
  return halfTable;
}

function itemSize(dtype: DType): number {
  if (dtype === 'float16') return 2;
  if (dtype === 'float32') return 4;
  throw new Error(`lenslab: unsupported tensor dtype ${String(dtype)}`);
}

/** Copies `view` into a fresh, aligned ArrayBuffer (respecting its byteOffset). */
function ownBytes(view: DataView): ArrayBuffer {
  const copy = new Uint8Array(view.byteLength);
  copy.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return copy.buffer;
}

/**
 * Decodes the widget payload. Throws when the byte count does not match the shape,
 * so a broken payload shows an error instead of a silently wrong picture.
 */
export function decodeTensor(view: DataView | null | undefined, dtype: DType, shape: readonly number[]): Tensor {
  const n = numel(shape);
  const size = itemSize(dtype);
  const byteLength = view ? view.byteLength : 0;
  if (byteLength !== n * size) {
    throw new Error(`lenslab: payload has ${byteLength} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${n * size}`);
  }
  if (!view || n === 0) return { data: new Float32Array(0), shape: [...shape] };
  if (dtype === 'float32') {
    const data =
      view.byteOffset % 4 === 0
        ? new Float32Array(view.buffer, view.byteOffset, n)
        : new Float32Array(ownBytes(view));
    return { data, shape: [...shape] };
  }
  const bits = view.byteOffset % 2 === 0 ? new Uint16Array(view.buffer, view.byteOffset, n) : new Uint16Array(ownBytes(view));
  const table = halfLookup();
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = table[bits[i]];
  return { data, shape: [...shape] };
}

/** t[i] along the first axis, sharing memory. */
export function index0(t: Tensor, i: number): Tensor {
  const inner = t.shape.slice(1);
  const n = numel(inner);
  return { data: t.data.subarray(i * n, (i + 1) * n), shape: inner };
}

export interface Range {
  min: number;
  max: number;
  /** Count of NaN / +-Infinity entries (skipped by min and max). */
  nonFinite: number;
}

export function finiteRange(values: ArrayLike<number>): Range {
  let min = Infinity;
  let max = -Infinity;
  let nonFinite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) return { min: 0, max: 0, nonFinite };
  return { min, max, nonFinite };
}

/** Largest finite |value|, or `fallback` when every value is zero or non-finite. */
export function maxAbs(values: ArrayLike<number>, fallback = 1): number {
  const r = finiteRange(values);
  const m = Math.max(Math.abs(r.min), Math.abs(r.max));
  return m > 0 ? m : fallback;
}
