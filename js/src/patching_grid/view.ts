// The patching grid: one heatmap panel per leading slice (e.g. output, query, key, value,
// pattern), a shared diverging colour scale centred on zero, hover values and click-to-select.
import { Colorbar } from '../shared/colorbar';
import { type ColorScale, divergingScale, formatValue } from '../shared/colorscale';
import { h, now, tokenSuffix } from '../shared/dom';
import { type Figure, type FigureItem, translateItems } from '../shared/export_image';
import { type Cell, Heatmap } from '../shared/heatmap';
import { type Tensor, finiteRange, index0, maxAbs } from '../shared/tensor';
import { type TooltipAt, type TooltipLine, Tooltip } from '../shared/tooltip';
import type { CellSelection } from '../shared/types';

export interface PatchingInput {
  /** [panels, rows, cols]. */
  values: Tensor;
  panelTitles: readonly string[];
  rowLabels: readonly string[];
  colLabels: readonly string[];
  rowAxis: string;
  colAxis: string;
  vmax: number;
  title: string;
  selected: CellSelection | null;
}

/** Panels with more than this many siblings drop their axis labels (the tooltip names cells). */
export const LABELLED_PANELS_MAX = 12;

/** Size limits for each panel: one panel gets a big plot, many share the width. */
export function panelLimits(panels: number, width = 900): { maxWidth: number; maxHeight: number; maxCell: number } {
  if (panels <= 1) return { maxWidth: Math.min(width, 760), maxHeight: 520, maxCell: 36 };
  if (panels <= 3) return { maxWidth: Math.max(220, Math.floor(width / panels) - 24), maxHeight: 420, maxCell: 30 };
  if (panels <= LABELLED_PANELS_MAX) return { maxWidth: Math.max(200, Math.floor(width / 3) - 24), maxHeight: 320, maxCell: 26 };
  return { maxWidth: 150, maxHeight: 150, maxCell: 14 };
}

/** Symmetric colour range: the explicit vmax, else the largest finite |value| (1 when all are 0). */
export function patchingScale(values: ArrayLike<number>, vmax: number): ColorScale {
  return divergingScale(vmax > 0 ? vmax : maxAbs(values, 1));
}

/** The lines of the hover tooltip / readout for one cell. */
export function describeCell(input: PatchingInput, panel: number, cell: Cell): { title: string; row: string; col: string; value: number } {
  const [, R, C] = input.values.shape;
  const value = input.values.data[(panel * R + cell.row) * C + cell.col];
  const rowLabel = input.rowLabels[cell.row] ?? String(cell.row);
  const colLabel = input.colLabels[cell.col] ?? String(cell.col);
  const show = (axis: string, labels: readonly string[], label: string, i: number): string =>
    axis === 'position' || axis === 'dest' || axis === 'src' ? `${axis} ${i}${tokenSuffix(labels, i)}` : `${axis ? axis + ' ' : ''}${label}`;
  return {
    title: input.panelTitles[panel] ?? '',
    row: show(input.rowAxis, input.rowLabels, rowLabel, cell.row),
    col: show(input.colAxis, input.colLabels, colLabel, cell.col),
    value,
  };
}

/** What hovering (or focusing) a cell shows; also the focused cell's accessible name. */
export function cellTooltip(input: PatchingInput, panel: number, cell: Cell): TooltipLine[] {
  const d = describeCell(input, panel, cell);
  return [...(d.title ? [{ value: d.title, strong: true }] : []), { value: d.row }, { value: d.col }, { label: 'value', value: formatValue(d.value, 4), strong: true }];
}

export function cellSummary(input: PatchingInput, panel: number, cell: Cell): string {
  const d = describeCell(input, panel, cell);
  return `${d.title ? d.title + ' \u00b7 ' : ''}${d.row} \u00b7 ${d.col}: ${formatValue(d.value, 4)}`;
}

export interface PatchingViewOptions {
  onSelect?: (sel: CellSelection) => void;
  toolbar?: HTMLElement | null;
  width?: number;
}

export class PatchingView {
  readonly el: HTMLDivElement;
  input: PatchingInput | null = null;
  scale: ColorScale = divergingScale(1);
  heatmaps: Heatmap[] = [];
  colorbar = new Colorbar('patching effect scale');
  tooltip: Tooltip;
  lastRenderMs = 0;
  private readonly opts: PatchingViewOptions;
  private readonly panels: HTMLDivElement;
  private readonly readout: HTMLDivElement;
  private readonly selectedOut: HTMLDivElement;

  constructor(opts: PatchingViewOptions = {}) {
    this.opts = opts;
    this.panels = h('div', { class: 'lenslab-panels' });
    this.readout = h('div', { class: 'lenslab-readout', 'aria-live': 'polite' });
    this.selectedOut = h('div', { class: 'lenslab-selection' });
    this.el = h(
      'div',
      { class: 'lenslab-patching-view' },
      opts.toolbar ?? null,
      h('div', { class: 'lenslab-main' }, this.panels, this.colorbar.el),
      this.readout,
      this.selectedOut,
    );
    this.tooltip = new Tooltip(this.el);
  }

  update(input: PatchingInput): void {
    const t0 = now();
    const [P, R, C] = input.values.shape;
    if (input.values.shape.length !== 3) throw new Error(`lenslab: patching values must be [panels, rows, cols], got [${input.values.shape.join(', ')}]`);
    this.input = input;
    this.scale = patchingScale(input.values.data, input.vmax);
    const limits = panelLimits(P, this.opts.width);
    const labelled = P <= LABELLED_PANELS_MAX;
    this.heatmaps = [];
    const panelEls: HTMLElement[] = [];
    for (let p = 0; p < P; p++) {
      const title = input.panelTitles[p] ?? '';
      const hm = new Heatmap({ ...limits, label: title ? `${title} patching results` : 'patching results' });
      // Hover or keyboard focus reads a cell; a click or Enter selects it.
      hm.describe = (cell) => cellTooltip(input, p, cell);
      hm.onHover = (cell, at) => this.hover(p, cell, at);
      hm.onClick = (cell) => this.select(p, cell);
      hm.setData({
        values: index0(input.values, p).data,
        rows: R,
        cols: C,
        scale: this.scale,
        rowLabels: labelled ? input.rowLabels : undefined,
        colLabels: labelled ? input.colLabels : undefined,
        rowAxis: labelled ? input.rowAxis : undefined,
        colAxis: labelled ? input.colAxis : undefined,
      });
      this.heatmaps.push(hm);
      panelEls.push(h('figure', { class: 'lenslab-panel', 'data-panel': p }, title ? h('figcaption', { class: 'lenslab-plot-title', text: title }) : null, hm.el));
    }
    this.panels.replaceChildren(...panelEls);
    this.panels.classList.toggle('lenslab-many', P > LABELLED_PANELS_MAX);
    const barHeight = Math.max(120, Math.min(320, this.heatmaps[0]?.layout.gridH ?? 120));
    this.colorbar.update(this.scale, barHeight, finiteRange(input.values.data).nonFinite > 0);
    this.readout.textContent = 'Hover or focus a cell to read its value; click it or press Enter to select it (sent to Python as .selected).';
    this.showSelected(input.selected);
    this.lastRenderMs = now() - t0;
    this.el.dataset.renderMs = this.lastRenderMs.toFixed(1);
  }

  private hover(panel: number, cell: Cell | null, at?: TooltipAt): void {
    if (!cell || !this.input) {
      this.tooltip.hide();
      return;
    }
    this.readout.textContent = cellSummary(this.input, panel, cell);
    if (at) this.tooltip.show(at.clientX, at.clientY, cellTooltip(this.input, panel, cell), at.anchor);
  }

  select(panel: number, cell: Cell): void {
    if (!this.input) return;
    const sel: CellSelection = { panel, row: cell.row, col: cell.col };
    this.showSelected(sel);
    this.opts.onSelect?.(sel);
  }

  /** Marks the selected cell (from a click or from Python) and describes it. */
  showSelected(sel: CellSelection | null): void {
    const input = this.input;
    const valid = !!input && !!sel && sel.panel >= 0 && sel.panel < this.heatmaps.length && sel.row >= 0 && sel.row < input.values.shape[1] && sel.col >= 0 && sel.col < input.values.shape[2];
    this.heatmaps.forEach((hm, p) => hm.setSelectedCell(valid && sel!.panel === p ? { row: sel!.row, col: sel!.col } : null));
    this.selectedOut.textContent = valid ? `Selected: ${cellSummary(input!, sel!.panel, { row: sel!.row, col: sel!.col })}` : '';
  }

  figure(): Figure {
    const input = this.input;
    const items: FigureItem[] = [{ type: 'text', x: 12, y: 22, text: input?.title || 'Patching results', size: 14, bold: true }];
    const perRow = Math.max(1, Math.min(this.heatmaps.length, 3));
    let x = 12;
    let y = 40;
    let rowH = 0;
    let maxX = 0;
    this.heatmaps.forEach((hm, p) => {
      if (p > 0 && p % perRow === 0) {
        x = 12;
        y += rowH + 16;
        rowH = 0;
      }
      const title = input?.panelTitles[p] ?? '';
      if (title) items.push({ type: 'text', x: x + hm.layout.gridX, y: y + 12, text: title, size: 12, bold: true });
      items.push(...translateItems(hm.figureItems(), x, y + 20));
      rowH = Math.max(rowH, hm.layout.height + 20);
      x += hm.layout.width + 20;
      maxX = Math.max(maxX, x);
    });
    const cbX = maxX + 4;
    items.push(...translateItems(this.colorbar.figureItems(), cbX, 60));
    return { width: cbX + 70, height: Math.max(y + rowH, 60 + this.colorbar.figureHeight()) + 16, background: '#ffffff', items };
  }
}
