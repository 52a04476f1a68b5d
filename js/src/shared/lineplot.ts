// A small SVG line plot for 1-D slices (one position's activation vector, a per-token scalar).
import { formatValue, niceTicks } from './colorscale';
import { h } from './dom';
import type { FigureItem } from './export_image';

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
  const xOf = (i: number): number => (n <= 1 ? (x0 + x1) / 2 : x0 + ((x1 - x0) * i) / (n - 1));
  const yOf = (v: number): number => y1 - ((v - min) / (max - min)) * (y1 - y0);
  const points: [number, number][] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(values[i])) points.push([xOf(i), yOf(values[i])]);
  const yTicks = niceTicks(min, max, 5)
    .filter((v) => v >= min && v <= max)
    .map((value) => ({ value, y: yOf(value), label: formatValue(value, 3) }));
  return { width, height, x0, y0, x1, y1, min, max, points, yTicks };
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

export class LinePlot {
  readonly el: HTMLDivElement;
  geom: LineGeometry | null = null;
  values: Float32Array = new Float32Array(0);
  xLabels: readonly string[] = [];
  xAxis = '';
  onHover: (index: number | null, ev?: MouseEvent) => void = () => undefined;
  private readonly root: SVGElement;

  constructor() {
    this.root = svg('svg', { class: 'lenslab-lineplot-svg', role: 'img', 'aria-label': 'line plot' });
    this.el = h('div', { class: 'lenslab-lineplot' });
    this.el.append(this.root);
    this.root.addEventListener('mousemove', (ev) => {
      if (!this.geom) return;
      const box = this.root.getBoundingClientRect();
      const x = ((ev as MouseEvent).clientX - box.left) * (box.width > 0 ? this.geom.width / box.width : 1);
      this.onHover(nearestIndex(this.geom, this.values.length, x), ev as MouseEvent);
    });
    this.root.addEventListener('mouseleave', () => this.onHover(null));
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
