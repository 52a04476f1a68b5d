// A vertical colour bar with round tick values, plus a NaN swatch when needed.
import { type ColorScale, NAN_COLOR, cssColor, formatValue, niceTicks, paintValues } from './colorscale';
import { h } from './dom';
import type { FigureItem } from './export_image';

export const COLORBAR_WIDTH = 12;

export interface ColorbarTick {
  value: number;
  /** Distance from the top of the bar in pixels. */
  y: number;
  label: string;
}

/**
 * Tick positions on a bar of `height` pixels (max at the top): round values about every 28 px,
 * plus both ends of the scale when no round tick sits within 12 px of them.
 */
export function colorbarTicks(scale: ColorScale, height: number, count = Math.max(5, Math.floor(height / 28))): ColorbarTick[] {
  const values = niceTicks(scale.min, scale.max, count);
  const near = ((scale.max - scale.min) * 12) / Math.max(1, height);
  if (values.length === 0 || values[values.length - 1] < scale.max - near) values.push(scale.max);
  if (values[0] > scale.min + near) values.unshift(scale.min);
  return values.map((value) => ({
    value,
    y: ((scale.max - value) / (scale.max - scale.min)) * height,
    label: formatValue(value, 3),
  }));
}

/** One pixel column of the scale, top (max) to bottom (min). */
export function colorbarPixels(scale: ColorScale, height: number): Uint8ClampedArray<ArrayBuffer> {
  const n = Math.max(2, Math.round(height));
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = scale.max - ((scale.max - scale.min) * i) / (n - 1);
  const rgba = new Uint8ClampedArray(n * 4);
  paintValues(rgba, values, scale);
  return rgba;
}

export class Colorbar {
  readonly el: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly ticks: HTMLDivElement;
  private readonly nan: HTMLDivElement;
  private scale: ColorScale | null = null;
  private height = 0;
  private showNan = false;

  constructor(label = 'colour scale') {
    this.canvas = h('canvas', { class: 'lenslab-colorbar-canvas', role: 'img', 'aria-label': label });
    this.ticks = h('div', { class: 'lenslab-colorbar-ticks' });
    this.nan = h('div', { class: 'lenslab-colorbar-nan' }, h('span', { class: 'lenslab-swatch' }), h('span', { text: 'NaN / inf' }));
    (this.nan.firstChild as HTMLElement).style.background = cssColor(NAN_COLOR);
    this.el = h('div', { class: 'lenslab-colorbar' }, h('div', { class: 'lenslab-colorbar-bar' }, this.canvas, this.ticks), this.nan);
  }

  update(scale: ColorScale, height: number, showNan = false): void {
    this.scale = scale;
    this.height = Math.max(60, Math.round(height));
    this.showNan = showNan;
    const rgba = colorbarPixels(scale, this.height);
    const rows = rgba.length / 4;
    this.canvas.width = 1;
    this.canvas.height = rows;
    Object.assign(this.canvas.style, { width: `${COLORBAR_WIDTH}px`, height: `${this.height}px` });
    const ctx = this.canvas.getContext('2d');
    if (ctx && typeof ImageData !== 'undefined') ctx.putImageData(new ImageData(rgba, 1, rows), 0, 0);
    this.ticks.style.height = `${this.height}px`;
    this.ticks.replaceChildren(
      ...colorbarTicks(scale, this.height).map((t) => {
        const el = h('div', { class: 'lenslab-colorbar-tick', text: t.label });
        el.style.top = `${t.y}px`;
        return el;
      }),
    );
    this.nan.hidden = !showNan;
  }

  width(): number {
    return 58;
  }

  figureItems(): FigureItem[] {
    if (!this.scale) return [];
    const rgba = colorbarPixels(this.scale, this.height);
    const items: FigureItem[] = [
      { type: 'heatmap', x: 0, y: 0, w: COLORBAR_WIDTH, h: this.height, rows: rgba.length / 4, cols: 1, rgba },
      { type: 'rect', x: 0, y: 0, w: COLORBAR_WIDTH, h: this.height, stroke: '#bbb', strokeWidth: 0.5 },
    ];
    for (const t of colorbarTicks(this.scale, this.height)) {
      items.push({ type: 'rect', x: COLORBAR_WIDTH, y: t.y - 0.25, w: 3, h: 0.5, fill: '#666' });
      items.push({ type: 'text', x: COLORBAR_WIDTH + 5, y: t.y, text: t.label, baseline: 'middle', size: 10, fill: '#444' });
    }
    if (this.showNan) {
      items.push({ type: 'rect', x: 0, y: this.height + 8, w: COLORBAR_WIDTH, h: 10, fill: cssColor(NAN_COLOR) });
      items.push({ type: 'text', x: COLORBAR_WIDTH + 5, y: this.height + 13, text: 'NaN / inf', baseline: 'middle', size: 10, fill: '#444' });
    }
    return items;
  }

  figureHeight(): number {
    return this.height + (this.showNan ? 22 : 0);
  }
}
