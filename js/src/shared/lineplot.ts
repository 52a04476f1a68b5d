// A small SVG line plot for 1-D slices (one position's activation vector, a per-token scalar).
// Keyboard: the plot is one Tab stop; Left/Right/Home/End step through the samples, the focused
// one showing what hovering it shows (roving.ts), named by the lines its tooltip shows.
import { formatValue, niceTicks } from './colorscale';
import { h } from './dom';
import type { FigureItem } from './export_image';
import { RovingCell, pointBelow } from './roving';
import { type TooltipAt, type TooltipLine, linesLabel } from './tooltip';

const SVG_NS = 'http://www.w3.org/2000/svg';

export interface LineGeometry {
  width: number;
  height: number;
  /** Plot area inside the axes. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  min: number;
  max: number;
  points: [number, number][];
  yTicks: { value: number; y: number; label: string }[];
}

export function lineGeometry(values: ArrayLike<number>, width: number, height: number): LineGeometry {
  const x0 = 48;
  const y0 = 8;
  const x1 = width - 8;
  const y1 = height - 22;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  if (!(max >= min)) [min, max] = [0, 1];
  if (max === min) [min, max] = [min - 1, max + 1];
  const n = values.length;
  const g: LineGeometry = { width, height, x0, y0, x1, y1, min, max, points: [], yTicks: [] };
  for (let i = 0; i < n; i++) if (Number.isFinite(values[i])) g.points.push([sampleX(g, n, i), valueY(g, values[i])]);
  g.yTicks = niceTicks(min, max, 5)
    .filter((v) => v >= min && v <= max)
    .map((value) => ({ value, y: valueY(g, value), label: formatValue(value, 3) }));
  return g;
}

/** The x of sample `i` of `n`, in plot coordinates. */
export function sampleX(geom: LineGeometry, n: number, i: number): number {
  return n <= 1 ? (geom.x0 + geom.x1) / 2 : geom.x0 + ((geom.x1 - geom.x0) * i) / (n - 1);
}

/** The y of value `v`, in plot coordinates; a non-finite value (no point drawn) sits mid-plot. */
export function valueY(geom: LineGeometry, v: number): number {
  if (!Number.isFinite(v)) return (geom.y0 + geom.y1) / 2;
  return geom.y1 - ((v - geom.min) / (geom.max - geom.min)) * (geom.y1 - geom.y0);
}

/** Index of the sample nearest to x (in plot coordinates). */
export function nearestIndex(geom: LineGeometry, n: number, x: number): number {
  if (n <= 1) return 0;
  const t = (x - geom.x0) / (geom.x1 - geom.x0);
  return Math.max(0, Math.min(n - 1, Math.round(t * (n - 1))));
}

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Edge of the ring that marks the focused sample, in CSS pixels. */
const SAMPLE_RING = 10;

export class LinePlot {
  readonly el: HTMLDivElement;
  geom: LineGeometry | null = null;
  values: Float32Array = new Float32Array(0);
  xLabels: readonly string[] = [];
  xAxis = '';
  /** The pointer (a mouse event) or keyboard focus (the sample's ring the anchor) is on sample `index`; null: left. */
  onHover: (index: number | null, at?: TooltipAt) => void = () => undefined;
  /** What sample `i` says: its tooltip's lines, which also name it when focused (the one definition of both). */
  describe: (i: number) => TooltipLine[] = (i) => [
    { label: 'index', value: String(i) },
    { label: 'value', value: formatValue(this.values[i], 4), strong: true },
  ];
  /** Keyboard focus over the samples: only the current one has an element (roving.ts). */
  readonly keys: RovingCell;
  private readonly root: SVGElement;

  constructor() {
    this.root = svg('svg', { class: 'lenslab-lineplot-svg', role: 'img', 'aria-label': 'line plot' });
    // The samples as a list for keyboard and screen-reader users, over the picture of them.
    const samples = h('div', { class: 'lenslab-lineplot-samples', role: 'listbox', 'aria-label': 'line plot values' });
    this.el = h('div', { class: 'lenslab-lineplot' }, this.root, samples);
    this.keys = new RovingCell(samples, {
      drawItem: (el, i) => this.drawSample(el, i),
      onFocus: (i, el) => this.onHover(i, pointBelow(el)),
      onLeave: () => this.onHover(null),
    });
    this.root.addEventListener('mousemove', (ev) => {
      if (!this.geom) return;
      const box = this.root.getBoundingClientRect();
      const x = ((ev as MouseEvent).clientX - box.left) * (box.width > 0 ? this.geom.width / box.width : 1);
      this.onHover(nearestIndex(this.geom, this.values.length, x), ev as MouseEvent);
    });
    this.root.addEventListener('mouseleave', () => this.onHover(null));
  }

  /** Makes `el` stand for sample `i` while it has the tab stop: a ring on its point, named by its tooltip's text. */
  private drawSample(el: HTMLElement, i: number): void {
    const n = this.values.length;
    el.className = 'lenslab-lineplot-sample';
    el.setAttribute('role', 'option');
    el.setAttribute('aria-selected', 'false');
    el.setAttribute('aria-setsize', String(n));
    el.setAttribute('aria-posinset', String(i + 1));
    el.setAttribute('aria-label', linesLabel(this.describe(i)));
    el.dataset.index = String(i);
    if (!this.geom) return;
    // Plot coordinates to CSS pixels (the SVG shrinks to fit a narrow pane).
    const box = this.root.getBoundingClientRect();
    const scale = box.width > 0 ? box.width / this.geom.width : 1;
    const x = sampleX(this.geom, n, i) * scale;
    const y = valueY(this.geom, this.values[i]) * scale;
    Object.assign(el.style, { left: `${x - SAMPLE_RING / 2}px`, top: `${y - SAMPLE_RING / 2}px`, width: `${SAMPLE_RING}px`, height: `${SAMPLE_RING}px` });
  }

  setData(values: Float32Array, width: number, height: number, xLabels: readonly string[] = [], xAxis = ''): void {
    this.values = values;
    this.xLabels = xLabels;
    this.xAxis = xAxis;
    const g = lineGeometry(values, width, height);
    this.geom = g;
    this.root.setAttribute('width', String(width));
    this.root.setAttribute('height', String(height));
    this.root.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const kids: SVGElement[] = [];
    for (const t of g.yTicks) {
      kids.push(svg('line', { x1: g.x0, x2: g.x1, y1: t.y, y2: t.y, class: 'lenslab-gridline' }));
      const label = svg('text', { x: g.x0 - 6, y: t.y, 'text-anchor': 'end', 'dominant-baseline': 'central', class: 'lenslab-tick' });
      label.textContent = t.label;
      kids.push(label);
    }
    if (g.min < 0 && g.max > 0) {
      const yz = g.y1 - ((0 - g.min) / (g.max - g.min)) * (g.y1 - g.y0);
      kids.push(svg('line', { x1: g.x0, x2: g.x1, y1: yz, y2: yz, class: 'lenslab-zeroline' }));
    }
    kids.push(svg('polyline', { points: g.points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' '), class: 'lenslab-line' }));
    const axis = svg('text', { x: (g.x0 + g.x1) / 2, y: height - 4, 'text-anchor': 'middle', class: 'lenslab-tick' });
    axis.textContent = `${xAxis}${xAxis ? ' ' : ''}(0 \u2013 ${values.length - 1})`;
    kids.push(axis);
    this.root.replaceChildren(...kids);
    this.keys.setCount(values.length, values.length);
  }

  figureItems(): FigureItem[] {
    const g = this.geom;
    if (!g) return [];
    const items: FigureItem[] = [];
    for (const t of g.yTicks) {
      items.push({ type: 'rect', x: g.x0, y: t.y - 0.25, w: g.x1 - g.x0, h: 0.5, fill: '#e3e3e3' });
      items.push({ type: 'text', x: g.x0 - 6, y: t.y, text: t.label, anchor: 'end', baseline: 'middle', size: 10, fill: '#555' });
    }
    items.push({ type: 'polyline', points: g.points, stroke: '#2166ac', strokeWidth: 1.5 });
    items.push({ type: 'text', x: (g.x0 + g.x1) / 2, y: g.height - 4, text: `${this.xAxis} (0 \u2013 ${this.values.length - 1})`, anchor: 'middle', size: 10, fill: '#555' });
    return items;
  }
}
