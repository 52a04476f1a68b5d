// A labelled heatmap: one canvas pixel per cell (scaled up with crisp edges), hover and click
// reported as (row, col). Labels stay identifiable: axes up to FULL_LABELS_MAX entries label every
// row and column (cells grow to MIN_LABEL_CELL, long column labels turn vertical, every label has
// its full text on hover); longer axes are labelled every k-th and get a zoom control.
// Keyboard: the grid is one Tab stop; arrows move a focused cell that does what hover does and
// Enter/Space what a click does (roving.ts), named by the lines its tooltip shows.
import { type ColorScale, formatValue, paintValues } from './colorscale';
import { displayToken, h } from './dom';
import type { FigureItem } from './export_image';
import { RovingCell, pointBelow } from './roving';
import { type TooltipAt, type TooltipLine, linesLabel } from './tooltip';

export interface Cell {
  row: number;
  col: number;
}

export interface LayoutOptions {
  /** Width available for row labels plus the grid. */
  maxWidth: number;
  /** Height available for the grid itself. */
  maxHeight: number;
  /** Largest cell edge in CSS pixels. */
  maxCell?: number;
  /** Line height of a label. */
  labelPx?: number;
  /** Average glyph width used to size label gutters. */
  charPx?: number;
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  rowAxis?: string;
  colAxis?: string;
  /** Square cells (attention, patching); false lets wide slices such as [pos, d_model] stretch. */
  square?: boolean;
  /** Magnification of the cells (the zoom control); 1 fits the limits. */
  zoom?: number;
}

export interface HeatmapLayout {
  rows: number;
  cols: number;
  /** Cell width and height in CSS pixels (integers when >= 3, so cells stay crisp). */
  cellW: number;
  cellH: number;
  gridX: number;
  gridY: number;
  gridW: number;
  gridH: number;
  axisW: number;
  rowLabelW: number;
  colLabelH: number;
  colAxisH: number;
  width: number;
  height: number;
  /** Show every rowStep-th row label (and likewise for columns). */
  rowStep: number;
  colStep: number;
  colVertical: boolean;
  labelPx: number;
  /** Font size of the labels in CSS pixels (smaller when the cells are). */
  fontPx: number;
  labelChars: number;
}

export const LABEL_CHARS = 16;
/** Axes with at most this many labelled entries show every label. */
export const FULL_LABELS_MAX = 64;
/** The smallest cell that still carries a readable label (9 px text). */
export const MIN_LABEL_CELL = 10;
export const ZOOM_LEVELS = [1, 1.5, 2, 3, 4, 6, 8, 12, 16];

/** How many cells one label needs so neighbouring labels do not overlap. */
export function labelStep(cellPx: number, labelPx: number): number {
  if (!(cellPx > 0)) return 1;
  return cellPx >= labelPx ? 1 : Math.ceil(labelPx / cellPx);
}

function longest(labels: readonly string[] | undefined, cap: number): number {
  let n = 0;
  for (const l of labels ?? []) n = Math.max(n, displayToken(l, cap).length);
  return n;
}

export function heatmapLayout(rows: number, cols: number, o: LayoutOptions): HeatmapLayout {
  const labelPx = o.labelPx ?? 13;
  const charPx = o.charPx ?? 6.6;
  const maxCell = o.maxCell ?? 28;
  const zoom = o.zoom ?? 1;
  const rowChars = longest(o.rowLabels, LABEL_CHARS);
  const colChars = longest(o.colLabels, LABEL_CHARS);
  const axisW = o.rowAxis ? labelPx + 6 : 0;
  const rowLabelW = rowChars > 0 ? Math.ceil(rowChars * charPx) + 8 : 0;
  const availW = Math.max(20, o.maxWidth - axisW - rowLabelW);
  const fitW = Math.min(maxCell, availW / Math.max(1, cols));
  const fitH = Math.min(maxCell, o.maxHeight / Math.max(1, rows));
  // Labelled axes short enough to label in full get cells a label fits in, even past the limits
  // (the widget scrolls sideways) rather than dropping labels.
  const fullRows = rowChars > 0 && rows <= FULL_LABELS_MAX;
  const fullCols = colChars > 0 && cols <= FULL_LABELS_MAX;
  const crisp = (c: number): number => (c >= 3 ? Math.floor(c) : c);
  const square = o.square ?? true;
  let cellW = square ? Math.min(fitW, fitH) : fitW;
  let cellH = square ? Math.min(fitW, fitH) : fitH;
  const floorW = fullCols ? MIN_LABEL_CELL : 0;
  const floorH = fullRows ? MIN_LABEL_CELL : 0;
  const squareCell = Math.max(cellW, floorW, floorH);
  if (square && squareCell * cols <= availW + 0.5 && squareCell * rows <= o.maxHeight + 0.5) cellW = cellH = squareCell;
  // A floor on one axis would stretch the other past the limits (2 rows x 150 positions): the
  // cells go oblong instead, and the long axis is labelled every k-th with the zoom control.
  else [cellW, cellH] = [Math.max(cellW, floorW), Math.max(cellH, floorH)];
  cellW = crisp(cellW * zoom);
  cellH = crisp(cellH * zoom);
  const gridW = cellW * cols;
  const gridH = cellH * rows;
  const fontPx = Math.max(9, Math.min(10.5, Math.min(cellH, colChars > 0 ? cellW : cellH) - 0.5));
  const colTextW = Math.ceil(colChars * charPx * (fontPx / 10.5)) + 6;
  const colVertical = colChars > 0 && colTextW > cellW;
  const colLabelH = colChars === 0 ? 0 : colVertical ? colTextW : labelPx + 6;
  const colAxisH = o.colAxis ? labelPx + 6 : 0;
  const gridX = axisW + rowLabelW;
  const need = MIN_LABEL_CELL - 1;
  return {
    rows,
    cols,
    cellW,
    cellH,
    gridX,
    gridY: 0,
    gridW,
    gridH,
    axisW,
    rowLabelW,
    colLabelH,
    colAxisH,
    width: gridX + gridW,
    height: gridH + colLabelH + colAxisH,
    rowStep: labelStep(cellH, need),
    colStep: colVertical ? labelStep(cellW, need) : labelStep(cellW, colTextW),
    colVertical,
    labelPx,
    fontPx,
    labelChars: LABEL_CHARS,
  };
}

/**
 * The box that marks a focused cell, relative to the grid: the cell itself, grown around its
 * centre to at least `minPx` a side so the focus ring stays visible on tiny cells.
 */
export function focusBox(layout: HeatmapLayout, cell: Cell, minPx = 6): { left: number; top: number; width: number; height: number } {
  const width = Math.max(layout.cellW, minPx);
  const height = Math.max(layout.cellH, minPx);
  return { left: (cell.col + 0.5) * layout.cellW - width / 2, top: (cell.row + 0.5) * layout.cellH - height / 2, width, height };
}

/** The cell under a point given relative to the grid's top-left corner, or null outside. */
export function cellAt(layout: HeatmapLayout, x: number, y: number): Cell | null {
  if (x < 0 || y < 0 || x >= layout.gridW || y >= layout.gridH) return null;
  const col = Math.min(layout.cols - 1, Math.floor((x / layout.gridW) * layout.cols));
  const row = Math.min(layout.rows - 1, Math.floor((y / layout.gridH) * layout.rows));
  return { row, col };
}

/** Indices of the labels to draw: every `step`-th, always including the last one if it fits. */
export function visibleLabels(count: number, step: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i += step) out.push(i);
  const last = count - 1;
  if (last > 0 && out[out.length - 1] !== last && last - out[out.length - 1] >= step) out.push(last);
  return out;
}

/** The next zoom level up (+1) or down (-1) from `zoom`. */
export function nextZoom(zoom: number, dir: 1 | -1): number {
  if (dir > 0) return ZOOM_LEVELS.find((z) => z > zoom + 1e-9) ?? ZOOM_LEVELS[ZOOM_LEVELS.length - 1];
  return [...ZOOM_LEVELS].reverse().find((z) => z < zoom - 1e-9) ?? 1;
}

export interface HeatmapData {
  values: Float32Array;
  rows: number;
  cols: number;
  scale: ColorScale;
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  rowAxis?: string;
  colAxis?: string;
}

export interface HeatmapOptions {
  maxWidth: number;
  maxHeight: number;
  maxCell?: number;
  square?: boolean;
  /** Accessible name of the grid. */
  label?: string;
}

export class Heatmap {
  /** The whole component: the zoom control (when needed) above the scrollable heatmap. */
  readonly el: HTMLDivElement;
  /** The positioned box holding the grid, labels and axis titles. */
  readonly box: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  readonly zoomBar: HTMLDivElement;
  zoom = 1;
  layout: HeatmapLayout;
  /** The painted pixels (one per cell), also used by exports and tests. */
  rgba: Uint8ClampedArray<ArrayBuffer> = new Uint8ClampedArray(0);
  data: HeatmapData | null = null;
  /** The pointer (a mouse event) or a keyboard-focused cell (its box the anchor) is over `cell`; null: left. */
  onHover: (cell: Cell | null, at?: TooltipAt) => void = () => undefined;
  /** A click on `cell`, or Enter/Space on the focused cell. */
  onClick: (cell: Cell, ev?: MouseEvent) => void = () => undefined;
  /**
   * What a cell says: the lines its tooltip shows, which also make the focused cell's accessible
   * name (the one definition of both). Views replace it with their own wording.
   */
  describe: (cell: Cell) => TooltipLine[] = (cell) => [
    { label: 'row', value: String(cell.row) },
    { label: 'column', value: String(cell.col) },
    { label: 'value', value: formatValue(this.value(cell.row, cell.col), 4), strong: true },
  ];
  /** Keyboard focus over the cells: only the current cell has an element (roving.ts). */
  readonly keys: RovingCell;

  private readonly opts: HeatmapOptions;
  private readonly grid: HTMLDivElement;
  private readonly focusRow: HTMLDivElement;
  private readonly rowLabelBox: HTMLDivElement;
  private readonly colLabelBox: HTMLDivElement;
  private readonly rowAxisEl: HTMLDivElement;
  private readonly colAxisEl: HTMLDivElement;
  private readonly rowMark: HTMLDivElement;
  private readonly hoverMark: HTMLDivElement;
  private readonly selectMark: HTMLDivElement;
  private readonly scroller: HTMLDivElement;
  private readonly zoomText: HTMLSpanElement;

  constructor(opts: HeatmapOptions) {
    this.opts = opts;
    // The grid (role grid, named) is what assistive technology reads: the canvas and the marks
    // are pictures of it. Only the focused cell exists, so the grid says how many rows and
    // columns there are and the cell's row says which one it is in (a virtual grid in ARIA).
    this.canvas = h('canvas', { class: 'lenslab-heatmap-canvas', 'aria-hidden': 'true' });
    this.rowMark = h('div', { class: 'lenslab-mark lenslab-mark-row', 'aria-hidden': 'true' });
    this.hoverMark = h('div', { class: 'lenslab-mark lenslab-mark-hover', 'aria-hidden': 'true' });
    this.selectMark = h('div', { class: 'lenslab-mark lenslab-mark-selected', 'aria-hidden': 'true' });
    for (const m of [this.rowMark, this.hoverMark, this.selectMark]) m.hidden = true;
    this.focusRow = h('div', { class: 'lenslab-heatmap-row', role: 'row' });
    this.grid = h(
      'div',
      { class: 'lenslab-heatmap-grid', role: 'grid', 'aria-label': opts.label ?? 'heatmap', 'aria-readonly': 'true' },
      this.canvas,
      this.rowMark,
      this.hoverMark,
      this.selectMark,
      this.focusRow,
    );
    this.keys = new RovingCell(this.focusRow, {
      drawItem: (el, i) => this.drawFocusCell(el, this.cellOf(i)),
      onFocus: (i, el) => {
        const cell = this.cellOf(i);
        this.setHoverCell(cell);
        this.onHover(cell, pointBelow(el));
      },
      onLeave: () => {
        this.setHoverCell(null);
        this.onHover(null);
      },
      onActivate: (i) => this.onClick(this.cellOf(i)),
    });
    this.rowLabelBox = h('div', { class: 'lenslab-labels lenslab-row-labels' });
    this.colLabelBox = h('div', { class: 'lenslab-labels lenslab-col-labels' });
    this.rowAxisEl = h('div', { class: 'lenslab-axis-title lenslab-row-axis' });
    this.colAxisEl = h('div', { class: 'lenslab-axis-title lenslab-col-axis' });
    this.box = h('div', { class: 'lenslab-heatmap' }, this.rowAxisEl, this.rowLabelBox, this.grid, this.colLabelBox, this.colAxisEl);
    this.scroller = h('div', { class: 'lenslab-heatmap-scroll' }, this.box);
    const button = (text: string, label: string, fn: () => void): HTMLButtonElement => {
      const b = h('button', { class: 'lenslab-button lenslab-zoom-button', type: 'button', text, 'aria-label': label, title: label });
      b.addEventListener('click', fn);
      return b;
    };
    this.zoomText = h('span', { class: 'lenslab-zoom-level', text: '100%' });
    this.zoomBar = h(
      'div',
      { class: 'lenslab-zoom', role: 'group', 'aria-label': 'Zoom' },
      button('\u2212', 'Zoom out', () => this.setZoom(nextZoom(this.zoom, -1))),
      this.zoomText,
      button('+', 'Zoom in', () => this.setZoom(nextZoom(this.zoom, 1))),
      button('Fit', 'Fit to view', () => this.setZoom(1)),
    );
    this.zoomBar.hidden = true;
    this.el = h('div', { class: 'lenslab-heatmap-frame' }, this.zoomBar, this.scroller);
    this.layout = heatmapLayout(0, 0, opts);
    // Ctrl/Cmd + wheel zooms (a plain wheel keeps scrolling the notebook).
    this.canvas.addEventListener(
      'wheel',
      (ev) => {
        if (!(ev.ctrlKey || ev.metaKey)) return;
        ev.preventDefault();
        this.setZoom(nextZoom(this.zoom, ev.deltaY < 0 ? 1 : -1));
      },
      { passive: false },
    );

    this.canvas.addEventListener('mousemove', (ev) => {
      const cell = this.eventCell(ev);
      this.setHoverCell(cell);
      this.onHover(cell, ev);
    });
    this.canvas.addEventListener('mouseleave', () => {
      this.setHoverCell(null);
      this.onHover(null);
    });
    this.canvas.addEventListener('click', (ev) => {
      const cell = this.eventCell(ev);
      if (!cell) return;
      // Tab comes back to the last cell clicked, as it does for thumbnails and chips.
      this.keys.setCurrent(this.indexOf(cell));
      this.onClick(cell, ev);
    });
  }

  /** The cell of row-major index `i`. */
  cellOf(i: number): Cell {
    const cols = Math.max(1, this.layout.cols);
    return { row: Math.floor(i / cols), col: i % cols };
  }

  indexOf(cell: Cell): number {
    return cell.row * this.layout.cols + cell.col;
  }

  /** Makes `el` stand for `cell` while it has the tab stop: its row and column, its tooltip's text, its box. */
  private drawFocusCell(el: HTMLElement, cell: Cell): void {
    this.focusRow.setAttribute('aria-rowindex', String(cell.row + 1));
    el.className = 'lenslab-heatmap-cell';
    el.setAttribute('role', 'gridcell');
    el.setAttribute('aria-colindex', String(cell.col + 1));
    el.setAttribute('aria-label', linesLabel(this.describe(cell)));
    el.dataset.row = String(cell.row);
    el.dataset.col = String(cell.col);
    const box = focusBox(this.layout, cell);
    Object.assign(el.style, { left: `${box.left}px`, top: `${box.top}px`, width: `${box.width}px`, height: `${box.height}px` });
  }

  private eventCell(ev: MouseEvent): Cell | null {
    const box = this.canvas.getBoundingClientRect();
    const sx = box.width > 0 ? this.layout.gridW / box.width : 1;
    const sy = box.height > 0 ? this.layout.gridH / box.height : 1;
    return cellAt(this.layout, (ev.clientX - box.left) * sx, (ev.clientY - box.top) * sy);
  }

  value(row: number, col: number): number {
    if (!this.data) return NaN;
    return this.data.values[row * this.data.cols + col];
  }

  /** Changes the available area; takes effect at the next setData. */
  setLimits(maxWidth: number, maxHeight: number): void {
    this.opts.maxWidth = maxWidth;
    this.opts.maxHeight = maxHeight;
  }

  /** Magnifies the cells (1 = fit); keeps the view centred on the same part of the grid. */
  setZoom(zoom: number): void {
    if (!this.data || zoom === this.zoom) return;
    const sc = this.scroller;
    const fx = sc.scrollWidth > 0 ? (sc.scrollLeft + sc.clientWidth / 2) / sc.scrollWidth : 0;
    const fy = sc.scrollHeight > 0 ? (sc.scrollTop + sc.clientHeight / 2) / sc.scrollHeight : 0;
    this.zoom = zoom;
    this.setData(this.data);
    sc.scrollLeft = Math.max(0, fx * sc.scrollWidth - sc.clientWidth / 2);
    sc.scrollTop = Math.max(0, fy * sc.scrollHeight - sc.clientHeight / 2);
  }

  setData(data: HeatmapData): void {
    const before = this.keys.count ? this.cellOf(this.keys.current) : { row: 0, col: 0 };
    this.data = data;
    const { rows, cols } = data;
    const fit = heatmapLayout(rows, cols, { ...this.opts, ...data });
    const L = this.zoom === 1 ? fit : heatmapLayout(rows, cols, { ...this.opts, ...data, zoom: this.zoom });
    this.layout = L;
    this.box.style.width = `${L.width}px`;
    this.box.style.height = `${L.height}px`;
    // Zoomed in, the heatmap scrolls inside the area it had at fit size.
    const zoomed = this.zoom > 1;
    this.scroller.classList.toggle('lenslab-zoomed', zoomed);
    this.scroller.style.maxWidth = zoomed ? `${Math.max(fit.width, 320)}px` : '';
    this.scroller.style.maxHeight = zoomed ? `${Math.max(fit.height, 240) + 16}px` : '';
    this.zoomBar.hidden = !(zoomed || fit.rowStep > 1 || fit.colStep > 1 || Math.min(fit.cellW, fit.cellH) < MIN_LABEL_CELL);
    this.zoomText.textContent = `${Math.round(this.zoom * 100)}%`;
    const [out, , zin, fitButton] = this.zoomBar.children as unknown as HTMLButtonElement[];
    out.disabled = fitButton.disabled = this.zoom <= 1;
    zin.disabled = this.zoom >= ZOOM_LEVELS[ZOOM_LEVELS.length - 1];
    Object.assign(this.grid.style, { left: `${L.gridX}px`, top: `${L.gridY}px`, width: `${L.gridW}px`, height: `${L.gridH}px` });
    Object.assign(this.canvas.style, { width: `${L.gridW}px`, height: `${L.gridH}px` });

    this.rgba = new Uint8ClampedArray(rows * cols * 4);
    paintValues(this.rgba, data.values, data.scale, 0, rows * cols);
    this.canvas.width = Math.max(1, cols);
    this.canvas.height = Math.max(1, rows);
    const ctx = rows * cols > 0 ? this.canvas.getContext('2d') : null;
    if (ctx && typeof ImageData !== 'undefined') ctx.putImageData(new ImageData(this.rgba, cols, rows), 0, 0);

    this.drawLabels(data);
    this.setHoverCell(null);
    // The focused cell keeps its row and column (clamped) across new data, zoom and resizes.
    this.grid.setAttribute('aria-rowcount', String(rows));
    this.grid.setAttribute('aria-colcount', String(cols));
    const keep = { row: Math.min(before.row, Math.max(0, rows - 1)), col: Math.min(before.col, Math.max(0, cols - 1)) };
    this.keys.setCount(rows * cols, cols, this.indexOf(keep));
  }

  private drawLabels(data: HeatmapData): void {
    const L = this.layout;
    Object.assign(this.rowLabelBox.style, { left: `${L.axisW}px`, top: '0px', width: `${L.rowLabelW}px`, height: `${L.gridH}px` });
    Object.assign(this.colLabelBox.style, { left: `${L.gridX}px`, top: `${L.gridH}px`, width: `${L.gridW}px`, height: `${L.colLabelH}px` });
    this.rowLabelBox.replaceChildren(
      ...(data.rowLabels ? visibleLabels(data.rows, L.rowStep) : []).map((r) => {
        const label = h('div', { class: 'lenslab-label lenslab-row-label', text: displayToken(data.rowLabels![r], L.labelChars), title: data.rowLabels![r] });
        Object.assign(label.style, { top: `${(r + 0.5) * L.cellH - L.labelPx / 2}px`, height: `${L.labelPx}px`, lineHeight: `${L.labelPx}px`, fontSize: `${L.fontPx}px` });
        return label;
      }),
    );
    this.colLabelBox.classList.toggle('lenslab-vertical', L.colVertical);
    this.colLabelBox.replaceChildren(
      ...(data.colLabels ? visibleLabels(data.cols, L.colStep) : []).map((c) => {
        const label = h('div', { class: 'lenslab-label lenslab-col-label', text: displayToken(data.colLabels![c], L.labelChars), title: data.colLabels![c] });
        const centre = (c + 0.5) * L.cellW;
        label.style.fontSize = `${L.fontPx}px`;
        if (L.colVertical) {
          Object.assign(label.style, { left: `${centre - L.labelPx / 2}px`, width: `${L.labelPx}px`, height: `${L.colLabelH - 3}px` });
        } else {
          const w = Math.max(L.cellW * L.colStep, 8);
          Object.assign(label.style, { left: `${centre - w / 2}px`, width: `${w}px`, height: `${L.labelPx}px` });
        }
        return label;
      }),
    );
    this.rowAxisEl.textContent = data.rowAxis ?? '';
    this.rowAxisEl.hidden = !data.rowAxis;
    Object.assign(this.rowAxisEl.style, { left: '0px', top: '0px', width: `${L.axisW}px`, height: `${L.gridH}px` });
    this.colAxisEl.textContent = data.colAxis ?? '';
    this.colAxisEl.hidden = !data.colAxis;
    Object.assign(this.colAxisEl.style, { left: `${L.gridX}px`, top: `${L.gridH + L.colLabelH}px`, width: `${L.gridW}px`, height: `${L.colAxisH}px` });
  }

  private placeMark(mark: HTMLDivElement, row: number, col: number, rowsSpan: number, colsSpan: number): void {
    const { cellW, cellH } = this.layout;
    Object.assign(mark.style, { left: `${col * cellW}px`, top: `${row * cellH}px`, width: `${colsSpan * cellW}px`, height: `${rowsSpan * cellH}px` });
    mark.hidden = false;
  }

  setHoverCell(cell: Cell | null): void {
    if (!cell || Math.min(this.layout.cellW, this.layout.cellH) < 4) {
      this.hoverMark.hidden = true;
      return;
    }
    this.placeMark(this.hoverMark, cell.row, cell.col, 1, 1);
  }

  setHighlightRow(row: number | null): void {
    if (row === null || row < 0 || row >= this.layout.rows) {
      this.rowMark.hidden = true;
      return;
    }
    this.placeMark(this.rowMark, row, 0, 1, this.layout.cols);
  }

  setSelectedCell(cell: Cell | null): void {
    if (!cell || cell.row >= this.layout.rows || cell.col >= this.layout.cols) {
      this.selectMark.hidden = true;
      return;
    }
    this.placeMark(this.selectMark, cell.row, cell.col, 1, 1);
    // Tab into the grid lands on the selected cell (unless the user is moving through it).
    if (!this.keys.hasFocus()) this.keys.setCurrent(this.indexOf(cell));
  }

  /** The heatmap and its labels as figure items, with the component's top-left at (0, 0). */
  figureItems(): FigureItem[] {
    const d = this.data;
    const L = this.layout;
    if (!d) return [];
    const items: FigureItem[] = [
      { type: 'heatmap', x: L.gridX, y: L.gridY, w: L.gridW, h: L.gridH, rows: d.rows, cols: d.cols, rgba: this.rgba },
      { type: 'rect', x: L.gridX, y: L.gridY, w: L.gridW, h: L.gridH, stroke: '#bbb', strokeWidth: 0.5 },
    ];
    if (d.rowLabels) {
      for (const r of visibleLabels(d.rows, L.rowStep)) {
        items.push({ type: 'text', x: L.gridX - 4, y: (r + 0.5) * L.cellH, text: displayToken(d.rowLabels[r], L.labelChars), anchor: 'end', baseline: 'middle', size: 10 });
      }
    }
    if (d.colLabels) {
      for (const c of visibleLabels(d.cols, L.colStep)) {
        const x = L.gridX + (c + 0.5) * L.cellW;
        const text = displayToken(d.colLabels[c], L.labelChars);
        items.push(
          L.colVertical
            ? { type: 'text', x, y: L.gridH + 4, text, rotate: 90, baseline: 'middle', size: 10 }
            : { type: 'text', x, y: L.gridH + L.labelPx, text, anchor: 'middle', size: 10 },
        );
      }
    }
    if (d.rowAxis) items.push({ type: 'text', x: L.axisW / 2, y: L.gridH / 2, text: d.rowAxis, rotate: -90, anchor: 'middle', baseline: 'middle', size: 11, fill: '#555' });
    if (d.colAxis) items.push({ type: 'text', x: L.gridX + L.gridW / 2, y: L.gridH + L.colLabelH + L.colAxisH - 4, text: d.colAxis, anchor: 'middle', size: 11, fill: '#555' });
    return items;
  }
}
