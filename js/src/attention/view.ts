// The attention-pattern view: per-head thumbnails (hover one to preview it, click to select it),
// a large heatmap of the selected head, and a token strip where hovering a destination token
// shades the tokens it attends to. Viewed by source (the transposed pattern), hovering a source
// token shades the destinations that attend to it. Used by the AttentionPatterns widget and by
// the cache explorer for hook_pattern.
import { Colorbar } from '../shared/colorbar';
import { type ColorScale, colorOf, formatValue, paintValues, rgbOf, sequentialScale, textColorOn } from '../shared/colorscale';
import { displayToken, h, now, quoteToken } from '../shared/dom';
import { type Figure, type FigureItem, translateItems } from '../shared/export_image';
import { type Cell, Heatmap } from '../shared/heatmap';
import { RovingFocus } from '../shared/roving';
import { type Tensor, finiteRange } from '../shared/tensor';
import { type TooltipLine, Tooltip } from '../shared/tooltip';
import type { ViewBy } from '../shared/types';

export type { ViewBy };

export interface AttentionInput {
  /** [heads, dest, src]. */
  pattern: Tensor;
  tokens: readonly string[];
  headNames: readonly string[];
  selected: number;
  vmax: number;
  title: string;
  /** Rows of the large view: destinations (queries, the default) or sources (keys, transposed). */
  viewBy?: ViewBy;
}

export interface Attended {
  src: number;
  token: string;
  value: number;
}

export function headName(names: readonly string[], head: number): string {
  return names[head] ?? `H${head}`;
}

/**
 * A head's accessible name: its visible name first (WCAG 2.5.3, label in name), then spelled
 * out: "L1H3, Layer 1 head 3"; other names get the head index: "first, head 0".
 */
export function headLabel(names: readonly string[], head: number): string {
  const name = headName(names, head);
  const m = /^L(\d+)H(\d+)$/.exec(name);
  return m ? `${name}, Layer ${m[1]} head ${m[2]}` : `${name}, head ${head}`;
}

/** Weights into source `src` from every destination position of `head` (a copy: a column). */
export function attentionColumn(pattern: Tensor, head: number, src: number): Float32Array {
  const [, D, S] = pattern.shape;
  const out = new Float32Array(D);
  for (let d = 0; d < D; d++) out[d] = pattern.data[(head * D + d) * S + src];
  return out;
}

/** One head's [dest, src] slice, or its transpose [src, dest] when viewed by source. */
export function orientedSlice(pattern: Tensor, head: number, viewBy: ViewBy): Float32Array {
  const [, D, S] = pattern.shape;
  const slice = pattern.data.subarray(head * D * S, (head + 1) * D * S);
  if (viewBy === 'destination') return slice;
  const out = new Float32Array(D * S);
  for (let d = 0; d < D; d++) for (let s = 0; s < S; s++) out[s * D + d] = slice[d * S + s];
  return out;
}

/** Weights from destination `dest` to every source position of `head` (shares memory). */
export function attentionRow(pattern: Tensor, head: number, dest: number): Float32Array {
  const [, D, S] = pattern.shape;
  const start = (head * D + dest) * S;
  return pattern.data.subarray(start, start + S);
}

/** The k sources with the largest weight, largest first (ties keep the earlier position). */
export function topAttended(row: ArrayLike<number>, tokens: readonly string[], k = 3): Attended[] {
  const order = Array.from({ length: row.length }, (_, i) => i).filter((i) => Number.isFinite(row[i]));
  order.sort((a, b) => row[b] - row[a] || a - b);
  return order.slice(0, k).map((src) => ({ src, token: tokens[src] ?? String(src), value: row[src] }));
}

/** The readout line for a hovered destination token. */
export function describeDestination(pattern: Tensor, tokens: readonly string[], head: number, dest: number, k = 3): string {
  const top = topAttended(attentionRow(pattern, head, dest), tokens, k);
  const parts = top.map((a) => `${quoteToken(a.token)} (${a.src}) ${formatValue(a.value, 3)}`);
  return `${quoteToken(tokens[dest] ?? String(dest))} (${dest}) attends to ${parts.join(', ')}`;
}

/** The readout line for a hovered source token: the destinations that attend to it most. */
export function describeSource(pattern: Tensor, tokens: readonly string[], head: number, src: number, k = 3): string {
  const top = topAttended(attentionColumn(pattern, head, src), tokens, k);
  const parts = top.map((a) => `${quoteToken(a.token)} (${a.src}) ${formatValue(a.value, 3)}`);
  return `${quoteToken(tokens[src] ?? String(src))} (${src}) is attended to by ${parts.join(', ')}`;
}

/** What the toggle button says: the current rows, and what a click switches to. */
export function viewByLabel(viewBy: ViewBy): { text: string; title: string } {
  return viewBy === 'destination'
    ? { text: 'Rows: destination', title: 'Rows are destinations (queries). Click to view by source (keys): the transposed pattern.' }
    : { text: 'Rows: source', title: 'Rows are sources (keys). Click to view by destination (queries).' };
}

/** CSS size of a head thumbnail: the longer side is `edge` pixels. */
export function thumbSize(dest: number, src: number, edge = 72): { w: number; h: number } {
  const m = Math.max(dest, src, 1);
  return { w: Math.max(8, Math.round((src / m) * edge)), h: Math.max(8, Math.round((dest / m) * edge)) };
}

/** A strip token's accessible name: its position and text, then what it shows (a weight, or its role). */
export function tokenLabel(tokens: readonly string[], i: number, shown: string): string {
  return `token ${i} ${quoteToken(tokens[i] ?? String(i))}${shown ? `, ${shown}` : ''}`;
}

/** Tokens whose weight is at least this show their value in the strip. */
export const STRIP_VALUE_MIN = 0.01;

export interface AttentionViewOptions {
  /** Called when the user picks a head (the widget syncs it to Python). */
  onSelectHead?: (head: number) => void;
  /** Called when the user flips the source/destination toggle (the widget syncs it to Python). */
  onViewBy?: (viewBy: ViewBy) => void;
  /** Whether to show the toolbar title row (the cache explorer has its own). */
  toolbar?: HTMLElement | null;
  maxPlot?: number;
}

export class AttentionView {
  readonly el: HTMLDivElement;
  input: AttentionInput | null = null;
  scale: ColorScale = sequentialScale(0, 1);
  heatmap: Heatmap;
  colorbar: Colorbar;
  tooltip: Tooltip;
  /** Position currently hovered or pinned (-1 none): a destination, or a source when viewed by source. */
  dest = -1;
  pinned = -1;
  /** Head shown in the large view while its thumbnail is hovered (-1: the selected head). */
  preview = -1;
  lastRenderMs = 0;

  private readonly opts: AttentionViewOptions;
  private readonly thumbs: HTMLDivElement;
  private readonly headTitle: HTMLDivElement;
  private readonly readout: HTMLDivElement;
  private readonly strip: HTMLDivElement;
  private readonly toggle: HTMLButtonElement;
  private tokenEls: HTMLSpanElement[] = [];
  private thumbEls: HTMLButtonElement[] = [];
  /** Keyboard: one Tab stop each for the thumbnails and the token strip. */
  readonly thumbKeys: RovingFocus;
  readonly tokenKeys: RovingFocus;

  constructor(opts: AttentionViewOptions = {}) {
    this.opts = opts;
    const maxPlot = opts.maxPlot ?? 480;
    this.thumbs = h('div', { class: 'lenslab-thumbs', role: 'listbox', 'aria-label': 'Attention heads' });
    this.headTitle = h('div', { class: 'lenslab-plot-title' });
    this.heatmap = new Heatmap({ maxWidth: maxPlot + 120, maxHeight: maxPlot, maxCell: 30, label: 'attention pattern' });
    this.colorbar = new Colorbar('attention weight scale');
    this.readout = h('div', { class: 'lenslab-readout', 'aria-live': 'polite' });
    this.strip = h('div', { class: 'lenslab-tokens', role: 'listbox', 'aria-label': 'Tokens: hover or focus one to see where it attends' });
    this.toggle = h('button', { class: 'lenslab-button lenslab-view-by', type: 'button', 'aria-pressed': 'false' });
    this.toggle.addEventListener('click', () => this.setViewBy(this.viewBy() === 'destination' ? 'source' : 'destination', true));
    this.el = h(
      'div',
      { class: 'lenslab-attention-view' },
      opts.toolbar ?? null,
      h('div', { class: 'lenslab-attention-controls' }, this.toggle),
      this.thumbs,
      h('div', { class: 'lenslab-main' }, h('div', { class: 'lenslab-plot' }, this.headTitle, this.heatmap.el), this.colorbar.el),
      this.readout,
      this.strip,
    );
    this.tooltip = new Tooltip(this.el);
    // Keyboard focus on a thumbnail previews its head as hover does; Enter/Space selects it.
    this.thumbKeys = new RovingFocus(this.thumbs, {
      grid: true,
      onFocus: (head) => this.previewHead(head),
      onLeave: () => this.previewHead(-1),
      onActivate: (head) => this.selectHead(head),
    });
    // Focus on a token shades the strip as hover does; Enter/Space pins it as a click does.
    this.tokenKeys = new RovingFocus(this.strip, {
      onFocus: (pos) => this.hoverDest(pos),
      onLeave: () => this.hoverDest(this.pinned),
      onActivate: (pos) => this.pin(pos),
    });

    // Hover or keyboard focus on a cell shades its row's tokens and shows the weight; a click
    // or Enter pins the row.
    this.heatmap.describe = (cell) => this.cellTooltip(cell);
    this.heatmap.onHover = (cell, at) => {
      if (!cell || !this.input) {
        this.tooltip.hide();
        this.hoverDest(this.pinned);
        return;
      }
      this.hoverDest(cell.row);
      if (at) this.tooltip.show(at.clientX, at.clientY, this.cellTooltip(cell), at.anchor);
    };
    this.heatmap.onClick = (cell) => this.pin(cell.row);
  }

  /** What a cell of the large view says (its tooltip and, focused, its accessible name): head, destination, source, weight. */
  cellTooltip(cell: Cell): TooltipLine[] {
    if (!this.input) return [];
    const { tokens, pattern } = this.input;
    const head = this.shownHead();
    const [dest, src] = this.viewBy() === 'destination' ? [cell.row, cell.col] : [cell.col, cell.row];
    return [
      { value: headName(this.input.headNames, head), strong: true },
      { label: 'dest', value: `${dest} ${quoteToken(tokens[dest] ?? '')}` },
      { label: 'src', value: `${src} ${quoteToken(tokens[src] ?? '')}` },
      { label: 'weight', value: formatValue(attentionRow(pattern, head, dest)[src], 4), strong: true },
    ];
  }

  update(input: AttentionInput): void {
    const t0 = now();
    const [H, D, S] = input.pattern.shape;
    if (input.pattern.shape.length !== 3) throw new Error(`lenslab: attention pattern must be [heads, dest, src], got [${input.pattern.shape.join(', ')}]`);
    const sameShape = this.input && this.input.pattern.shape.join() === input.pattern.shape.join();
    // Without a viewBy (the cache explorer's slices), the user's last choice stays.
    const viewBy = input.viewBy ?? this.input?.viewBy ?? 'destination';
    this.input = { ...input, selected: Math.min(Math.max(0, input.selected), Math.max(0, H - 1)), viewBy };
    const top = input.vmax > 0 ? input.vmax : Math.max(finiteRange(input.pattern.data).max, 1e-6);
    this.scale = sequentialScale(0, top);
    if (!sameShape) {
      this.dest = -1;
      this.pinned = -1;
      this.preview = -1;
    }
    this.showToggle();
    this.drawThumbs(H, D, S);
    this.buildStrip();
    this.drawSelected();
    this.lastRenderMs = now() - t0;
    this.el.dataset.renderMs = this.lastRenderMs.toFixed(1);
  }

  viewBy(): ViewBy {
    return this.input?.viewBy ?? 'destination';
  }

  /** The head in the large view: the previewed one while a thumbnail is hovered, else the selected one. */
  shownHead(): number {
    return this.preview >= 0 ? this.preview : (this.input?.selected ?? 0);
  }

  private showToggle(): void {
    const label = viewByLabel(this.viewBy());
    this.toggle.textContent = label.text;
    this.toggle.title = label.title;
    this.toggle.setAttribute('aria-pressed', String(this.viewBy() === 'source'));
    this.el.dataset.viewBy = this.viewBy();
  }

  private drawThumbs(H: number, D: number, S: number): void {
    const input = this.input!;
    const byDest = this.viewBy() === 'destination';
    // Thumbnails follow the large view's orientation, so a preview looks like its thumbnail.
    const [rows, cols] = byDest ? [D, S] : [S, D];
    const size = thumbSize(rows, cols);
    this.thumbEls = [];
    const pixels = new Uint8ClampedArray(D * S * 4);
    for (let head = 0; head < H; head++) {
      const canvas = h('canvas', { class: 'lenslab-thumb-canvas', width: cols, height: rows });
      Object.assign(canvas.style, { width: `${size.w}px`, height: `${size.h}px` });
      paintValues(pixels, orientedSlice(input.pattern, head, this.viewBy()), this.scale, 0, D * S);
      const ctx = D * S > 0 ? canvas.getContext('2d') : null;
      if (ctx && typeof ImageData !== 'undefined') ctx.putImageData(new ImageData(pixels, cols, rows), 0, 0);
      const name = headName(input.headNames, head);
      const button = h(
        'button',
        { class: 'lenslab-thumb', type: 'button', role: 'option', 'aria-label': headLabel(input.headNames, head), 'data-head': head, title: `${name}: hover or focus to preview, click or Enter to select` },
        canvas,
        h('span', { class: 'lenslab-thumb-name', text: name }),
      );
      button.addEventListener('click', () => this.selectHead(head));
      button.addEventListener('mouseenter', () => this.previewHead(head));
      button.addEventListener('mouseleave', () => this.previewHead(-1));
      this.thumbEls.push(button);
    }
    this.thumbKeys.setItems(this.thumbEls, this.thumbKeys.hasFocus() ? this.thumbKeys.current : input.selected, true);
  }

  private buildStrip(): void {
    const tokens = this.input!.tokens;
    this.tokenEls = tokens.map((tok, i) => {
      const el = h(
        'span',
        { class: 'lenslab-token', role: 'option', 'aria-label': tokenLabel(tokens, i, ''), 'aria-selected': 'false', 'data-pos': i, title: `position ${i}` },
        h('span', { class: 'lenslab-token-text', text: displayToken(tok, 32) }),
        h('span', { class: 'lenslab-token-value' }),
      );
      el.addEventListener('mouseenter', () => this.hoverDest(i));
      el.addEventListener('mouseleave', () => this.hoverDest(this.pinned));
      el.addEventListener('click', () => this.pin(i));
      return el;
    });
    this.tokenKeys.setItems(this.tokenEls, this.pinned >= 0 ? this.pinned : this.tokenKeys.current, true);
  }

  private drawSelected(): void {
    const input = this.input!;
    const head = this.shownHead();
    const [H, D, S] = input.pattern.shape;
    const byDest = this.viewBy() === 'destination';
    this.thumbEls.forEach((el, i) => {
      el.classList.toggle('lenslab-selected', i === input.selected);
      el.classList.toggle('lenslab-previewing', i === this.preview && i !== input.selected);
      el.setAttribute('aria-selected', String(i === input.selected));
    });
    // Tab into the thumbnails lands on the selected head (unless the user is moving among them).
    if (!this.thumbKeys.hasFocus()) this.thumbKeys.setCurrent(input.selected);
    const name = H > 0 ? headName(input.headNames, head) : '';
    const axes = byDest ? ' destination \u2193 \u00b7 source \u2192' : ' source \u2193 \u00b7 destination \u2192';
    this.headTitle.replaceChildren(
      h('span', { class: 'lenslab-head-name', text: name }),
      ...(head !== input.selected ? [h('span', { class: 'lenslab-preview-note', text: ' (preview: click to select, or press Enter)' })] : []),
      h('span', { class: 'lenslab-muted', text: axes }),
    );
    this.el.dataset.shownHead = String(head);
    const slice = H > 0 ? orientedSlice(input.pattern, head, this.viewBy()) : new Float32Array(0);
    const [rows, cols] = byDest ? [D, S] : [S, D];
    this.heatmap.setData({
      values: slice,
      rows: H > 0 ? rows : 0,
      cols: H > 0 ? cols : 0,
      scale: this.scale,
      rowLabels: input.tokens,
      colLabels: input.tokens,
      rowAxis: byDest ? 'destination' : 'source',
      colAxis: byDest ? 'source' : 'destination',
    });
    this.colorbar.update(this.scale, Math.max(120, this.heatmap.layout.gridH), finiteRange(input.pattern.data).nonFinite > 0);
    this.hoverDest(this.dest);
  }

  selectHead(head: number): void {
    if (!this.input || head === this.input.selected) return;
    this.input = { ...this.input, selected: head };
    this.drawSelected();
    this.opts.onSelectHead?.(head);
  }

  /** Shows `head` in the large view without selecting it (-1: back to the selected head). */
  previewHead(head: number): void {
    if (!this.input || head === this.preview) return;
    this.preview = head >= 0 && head < this.input.pattern.shape[0] ? head : -1;
    this.drawSelected();
  }

  /** Rows by destination (queries) or by source (keys); `fromUser` reports it to the widget. */
  setViewBy(viewBy: ViewBy, fromUser = false): void {
    if (!this.input || viewBy === this.viewBy()) return;
    this.input = { ...this.input, viewBy };
    // A pinned destination is not a source: start the new orientation unpinned.
    this.pinned = -1;
    this.dest = -1;
    const [H, D, S] = this.input.pattern.shape;
    this.showToggle();
    this.drawThumbs(H, D, S);
    this.drawSelected();
    if (fromUser) this.opts.onViewBy?.(viewBy);
  }

  /** Clicking a token (or a heatmap row) keeps it as the destination until clicked again. */
  pin(dest: number): void {
    this.pinned = this.pinned === dest ? -1 : dest;
    this.hoverDest(this.pinned === -1 ? dest : this.pinned);
  }

  /**
   * Shades the token strip by where destination `dest` attends and writes the readout; viewed
   * by source, `dest` is a source and the strip shades the destinations attending to it. -1 clears.
   */
  hoverDest(dest: number): void {
    const input = this.input;
    this.dest = dest;
    this.tokenEls.forEach((el, i) => {
      el.classList.remove('lenslab-dest', 'lenslab-pinned');
      el.setAttribute('aria-selected', String(i === this.pinned));
    });
    if (!input || dest < 0 || dest >= input.pattern.shape[1] || input.pattern.shape[0] === 0) {
      this.tokenEls.forEach((el, i) => {
        el.style.background = '';
        el.style.color = '';
        (el.lastChild as HTMLElement).textContent = '';
        el.setAttribute('aria-label', tokenLabel(input?.tokens ?? [], i, ''));
      });
      this.heatmap.setHighlightRow(null);
      const hint = this.viewBy() === 'destination' ? 'see where it attends' : 'see which tokens attend to it';
      this.readout.textContent = input && input.pattern.shape[0] > 0 ? `Hover a token or a row of the pattern to ${hint}.` : 'No heads.';
      return;
    }
    const head = this.shownHead();
    const byDest = this.viewBy() === 'destination';
    const row = byDest ? attentionRow(input.pattern, head, dest) : attentionColumn(input.pattern, head, dest);
    this.tokenEls.forEach((el, src) => {
      const v = src < row.length ? row[src] : NaN;
      const rgb = rgbOf(this.scale, Number.isFinite(v) ? v : 0);
      el.style.background = colorOf(this.scale, Number.isFinite(v) ? v : 0);
      el.style.color = textColorOn(rgb);
      const shown = Number.isFinite(v) && v >= STRIP_VALUE_MIN ? formatValue(v, 2) : '';
      (el.lastChild as HTMLElement).textContent = shown;
      el.setAttribute('aria-label', tokenLabel(input.tokens, src, [src === dest ? (byDest ? 'destination' : 'source') : '', shown && `weight ${shown}`].filter(Boolean).join(', ')));
    });
    this.tokenEls[dest]?.classList.add('lenslab-dest');
    if (this.pinned >= 0) this.tokenEls[this.pinned]?.classList.add('lenslab-pinned');
    this.heatmap.setHighlightRow(dest);
    const describe = byDest ? describeDestination : describeSource;
    this.readout.textContent = `${headName(input.headNames, head)}: ${describe(input.pattern, input.tokens, head, dest)}`;
  }

  readoutText(): string {
    return this.readout.textContent ?? '';
  }

  figure(): Figure {
    const items: FigureItem[] = [];
    const input = this.input;
    const title = input ? `${input.title ? input.title + ' \u00b7 ' : ''}${headName(input.headNames, this.shownHead())}` : '';
    items.push({ type: 'text', x: 12, y: 22, text: title, size: 14, bold: true });
    const hm = this.heatmap.layout;
    items.push(...translateItems(this.heatmap.figureItems(), 12, 36));
    const cbX = 12 + hm.width + 16;
    items.push(...translateItems(this.colorbar.figureItems(), cbX, 36));
    return {
      width: cbX + 70,
      height: 36 + Math.max(hm.height, this.colorbar.figureHeight()) + 12,
      background: '#ffffff',
      items,
    };
  }
}
