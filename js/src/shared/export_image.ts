// Exporting a widget's current view. Views describe what they show as a Figure (a flat
// list of positioned items); the Figure is then written out as SVG text or painted to
// a canvas for PNG. Describing once keeps the two formats identical.
import { h } from './dom';

export interface HeatmapItem {
  type: 'heatmap';
  x: number;
  y: number;
  w: number;
  h: number;
  rows: number;
  cols: number;
  /** rows * cols RGBA pixels, row-major. */
  rgba: Uint8ClampedArray;
}

export interface TextItem {
  type: 'text';
  x: number;
  y: number;
  text: string;
  size?: number;
  anchor?: 'start' | 'middle' | 'end';
  /** Degrees, clockwise, about (x, y). */
  rotate?: number;
  bold?: boolean;
  fill?: string;
  /** 'middle' centres the text vertically on y; default is the alphabetic baseline. */
  baseline?: 'alphabetic' | 'middle';
}

export interface RectItem {
  type: 'rect';
  x: number;
  y: number;
  w: number;
  h: number;
  fill?: string;
  stroke?: string;
  strokeWidth?: number;
}

export interface PolylineItem {
  type: 'polyline';
  points: [number, number][];
  stroke: string;
  strokeWidth?: number;
}

export type FigureItem = HeatmapItem | TextItem | RectItem | PolylineItem;

export interface Figure {
  width: number;
  height: number;
  background: string;
  items: FigureItem[];
}

export const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif';

/** Moves items by (dx, dy): lets views compose sub-figures. */
export function translateItems(items: FigureItem[], dx: number, dy: number): FigureItem[] {
  return items.map((item) => {
    if (item.type === 'polyline') {
      return { ...item, points: item.points.map(([x, y]) => [x + dx, y + dy] as [number, number]) };
    }
    return { ...item, x: item.x + dx, y: item.y + dy };
  });
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

const fmt = (v: number): string => String(Math.round(v * 100) / 100);
const hex2 = (v: number): string => v.toString(16).padStart(2, '0');

/** Heatmaps with at most this many cells become one <rect> per cell (crisp in every viewer). */
export const SVG_RECT_LIMIT = 20000;

function heatmapToSvg(item: HeatmapItem): string {
  const { rows, cols, rgba } = item;
  if (rows * cols <= SVG_RECT_LIMIT) {
    const cw = item.w / cols;
    const ch = item.h / rows;
    const parts: string[] = [`<g shape-rendering="crispEdges">`];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const o = (r * cols + c) * 4;
        const color = `#${hex2(rgba[o])}${hex2(rgba[o + 1])}${hex2(rgba[o + 2])}`;
        parts.push(
          `<rect x="${fmt(item.x + c * cw)}" y="${fmt(item.y + r * ch)}" width="${fmt(cw + 0.02)}" height="${fmt(ch + 0.02)}" fill="${color}"/>`,
        );
      }
    }
    parts.push('</g>');
    return parts.join('');
  }
  const url = pixelsToDataUrl(rgba, cols, rows);
  return `<image x="${fmt(item.x)}" y="${fmt(item.y)}" width="${fmt(item.w)}" height="${fmt(item.h)}" preserveAspectRatio="none" style="image-rendering:pixelated" href="${url}"/>`;
}

function pixelCanvas(rgba: Uint8ClampedArray, cols: number, rows: number): HTMLCanvasElement | null {
  const canvas = document.createElement('canvas');
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext('2d');
  if (!ctx || typeof ImageData === 'undefined') return null;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), cols, rows), 0, 0);
  return canvas;
}

function pixelsToDataUrl(rgba: Uint8ClampedArray, cols: number, rows: number): string {
  const canvas = pixelCanvas(rgba, cols, rows);
  return canvas ? canvas.toDataURL('image/png') : '';
}

function textToSvg(item: TextItem): string {
  const size = item.size ?? 11;
  const attrs = [
    `x="${fmt(item.x)}"`,
    `y="${fmt(item.y)}"`,
    `font-size="${size}"`,
    `fill="${item.fill ?? '#222'}"`,
    `text-anchor="${item.anchor ?? 'start'}"`,
    'xml:space="preserve"',
  ];
  if (item.baseline === 'middle') attrs.push('dominant-baseline="central"');
  if (item.bold) attrs.push('font-weight="600"');
  if (item.rotate) attrs.push(`transform="rotate(${item.rotate} ${fmt(item.x)} ${fmt(item.y)})"`);
  return `<text ${attrs.join(' ')}>${escapeXml(item.text)}</text>`;
}

export function figureToSvg(fig: Figure): string {
  const body = fig.items.map((item) => {
    switch (item.type) {
      case 'heatmap':
        return heatmapToSvg(item);
      case 'text':
        return textToSvg(item);
      case 'rect':
        return `<rect x="${fmt(item.x)}" y="${fmt(item.y)}" width="${fmt(item.w)}" height="${fmt(item.h)}" fill="${item.fill ?? 'none'}"${
          item.stroke ? ` stroke="${item.stroke}" stroke-width="${item.strokeWidth ?? 1}"` : ''
        }/>`;
      case 'polyline':
        return `<polyline fill="none" stroke="${item.stroke}" stroke-width="${item.strokeWidth ?? 1.5}" points="${item.points
          .map(([x, y]) => `${fmt(x)},${fmt(y)}`)
          .join(' ')}"/>`;
    }
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fmt(fig.width)}" height="${fmt(fig.height)}" viewBox="0 0 ${fmt(fig.width)} ${fmt(
      fig.height,
    )}" font-family='${FONT_FAMILY}'>`,
    `<rect width="100%" height="100%" fill="${fig.background}"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/** Paints the figure at `scale` device pixels per unit; null where canvas is unavailable. */
export function figureToCanvas(fig: Figure, scale = 2): HTMLCanvasElement | null {
  const canvas = document.createElement('canvas');
  canvas.width = Math.ceil(fig.width * scale);
  canvas.height = Math.ceil(fig.height * scale);
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.scale(scale, scale);
  ctx.fillStyle = fig.background;
  ctx.fillRect(0, 0, fig.width, fig.height);
  for (const item of fig.items) {
    ctx.save();
    switch (item.type) {
      case 'heatmap': {
        const src = pixelCanvas(item.rgba, item.cols, item.rows);
        if (src) {
          ctx.imageSmoothingEnabled = false;
          ctx.drawImage(src, item.x, item.y, item.w, item.h);
        }
        break;
      }
      case 'text':
        ctx.font = `${item.bold ? '600 ' : ''}${item.size ?? 11}px ${FONT_FAMILY}`;
        ctx.fillStyle = item.fill ?? '#222';
        ctx.textAlign = item.anchor === 'middle' ? 'center' : item.anchor === 'end' ? 'right' : 'left';
        ctx.textBaseline = item.baseline === 'middle' ? 'middle' : 'alphabetic';
        ctx.translate(item.x, item.y);
        if (item.rotate) ctx.rotate((item.rotate * Math.PI) / 180);
        ctx.fillText(item.text, 0, 0);
        break;
      case 'rect':
        if (item.fill) {
          ctx.fillStyle = item.fill;
          ctx.fillRect(item.x, item.y, item.w, item.h);
        }
        if (item.stroke) {
          ctx.strokeStyle = item.stroke;
          ctx.lineWidth = item.strokeWidth ?? 1;
          ctx.strokeRect(item.x, item.y, item.w, item.h);
        }
        break;
      case 'polyline':
        ctx.strokeStyle = item.stroke;
        ctx.lineWidth = item.strokeWidth ?? 1.5;
        ctx.beginPath();
        item.points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
        ctx.stroke();
        break;
    }
    ctx.restore();
  }
  return canvas;
}

/** A file name from a title: "L0H3 attention" -> "L0H3_attention". */
export function safeFileName(title: string, fallback = 'lenslab'): string {
  const s = title
    .trim()
    .replace(/[^\w.-]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return (s || fallback).slice(0, 80);
}

export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename });
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function exportSvg(fig: Figure, basename: string): void {
  downloadBlob(new Blob([figureToSvg(fig)], { type: 'image/svg+xml' }), `${safeFileName(basename)}.svg`);
}

export function exportPng(fig: Figure, basename: string): void {
  const canvas = figureToCanvas(fig, 2);
  if (!canvas) return;
  canvas.toBlob((blob) => {
    if (blob) downloadBlob(blob, `${safeFileName(basename)}.png`);
  }, 'image/png');
}

/** The PNG / SVG buttons of a toolbar; `figure` is called at click time for the current view. */
export function exportButtons(figure: () => Figure, basename: () => string): HTMLElement {
  const png = h('button', { class: 'lenslab-button', type: 'button', title: 'Download the current view as PNG', text: 'PNG' });
  const svg = h('button', { class: 'lenslab-button', type: 'button', title: 'Download the current view as SVG', text: 'SVG' });
  png.addEventListener('click', () => exportPng(figure(), basename()));
  svg.addEventListener('click', () => exportSvg(figure(), basename()));
  return h('span', { class: 'lenslab-export', role: 'group', 'aria-label': 'Export' }, png, svg);
}
