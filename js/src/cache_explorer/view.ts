// The activation-cache explorer: a filterable tree of hook points (grouped by layer and
// component, with shape, dtype and summary statistics) beside a view of the selected slice.
import { type HookGroup as CoreHookGroup, buildHookTree, layerOfName } from '../../../ts/core/hooktree';
import { AttentionView } from '../attention/view';
import { Colorbar } from '../shared/colorbar';
import { type ColorScale, divergingScale, formatValue } from '../shared/colorscale';
import { displayToken, h, tokenSuffix } from '../shared/dom';
import { type Figure, type FigureItem, translateItems } from '../shared/export_image';
import { type Cell, Heatmap } from '../shared/heatmap';
import { LinePlot } from '../shared/lineplot';
import { type Tensor, finiteRange, maxAbs } from '../shared/tensor';
import { type TooltipLine, Tooltip } from '../shared/tooltip';
import type { HookInfo, SliceControls, SliceView } from '../shared/types';

export type HookGroup = CoreHookGroup<HookInfo>;

/** The cache tree (ts/core/hooktree.ts: the sidebar's grouping and labels); `filter` matches what the tree shows. */
export function groupHooks(hooks: readonly HookInfo[], filter = ''): HookGroup[] {
  return buildHookTree(
    hooks,
    (hook) => ({ layer: layerOfName(hook.name), component: hook.component }),
    (hook) => matchesFilter(hook, filter),
  );
}

/**
 * Whether `hook` matches the filter text: every space-separated word must occur in the hook's
 * name ("blocks.0.attn.hook_q"), its label in the tree ("attn.q"), that label under its layer
 * ("blocks.0.attn.q", "L0 attn.q") or its group ("Layer 0"), case-insensitively.
 */
export function matchesFilter(hook: HookInfo, filter: string): boolean {
  const words = filter.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const layer = layerOfName(hook.name);
  const label = treeLabel(hook);
  const haystack = [hook.name, label, hook.name.replace(/(^|\.)hook_/g, '$1'), layer === null ? '' : `L${layer} ${label} L${layer}.${label}`, hook.group]
    .join('\n')
    .toLowerCase();
  return words.every((w) => haystack.includes(w));
}

/** The shape as the tree's shape column shows it ("1\u00d712\u00d764\u00d764"). */
export function shapeText(shape: readonly number[]): string {
  return shape.length ? shape.join('\u00d7') : 'scalar';
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** The hook name without its "blocks.N." prefix (the tree already shows the layer). */
export function shortName(hook: HookInfo): string {
  const m = /^blocks\.\d+\.(.*)$/.exec(hook.name);
  return m ? m[1] : hook.name;
}

/** What the tree shows: the short name without "hook_" ("attn.pattern", "resid_post"). */
export function treeLabel(hook: HookInfo): string {
  return shortName(hook).replace(/(^|\.)hook_/g, '$1');
}

export interface SliceInput {
  view: SliceView;
  tensor: Tensor;
  tokens: readonly string[];
  rowAxis: string;
  colAxis: string;
  rowLabels: readonly string[];
  colLabels: readonly string[];
  layer: number;
  message: string;
  title: string;
}

export interface CacheViewCallbacks {
  onSelect(name: string): void;
  onControl(name: keyof SliceControls, value: number): void;
}

export class CacheView {
  readonly el: HTMLDivElement;
  hooks: HookInfo[] = [];
  selected = '';
  slice: SliceInput | null = null;
  heatmap: Heatmap;
  colorbar = new Colorbar('activation scale');
  line = new LinePlot();
  attention: AttentionView;
  scale: ColorScale = divergingScale(1);
  tooltip: Tooltip;
  private readonly cb: CacheViewCallbacks;
  private readonly filter: HTMLInputElement;
  private readonly tree: HTMLDivElement;
  private readonly detailTitle: HTMLDivElement;
  private readonly stats: HTMLDivElement;
  private readonly controls: HTMLDivElement;
  private readonly host: HTMLDivElement;
  private readonly readout: HTMLDivElement;
  private readonly heatBox: HTMLDivElement;
  private readonly detail: HTMLDivElement;
  private readonly resizer: ResizeObserver | null = null;
  private lastWidth = 0;

  constructor(cb: CacheViewCallbacks) {
    this.cb = cb;
    this.filter = h('input', { class: 'lenslab-filter', type: 'search', placeholder: 'Filter hooks\u2026', 'aria-label': 'Filter hooks' });
    this.filter.addEventListener('input', () => this.drawTree());
    this.tree = h('div', { class: 'lenslab-tree', role: 'tree', 'aria-label': 'Hook points' });
    this.detailTitle = h('div', { class: 'lenslab-detail-title' });
    this.stats = h('div', { class: 'lenslab-stats' });
    this.controls = h('div', { class: 'lenslab-controls' });
    this.heatmap = new Heatmap({ maxWidth: 560, maxHeight: 360, maxCell: 26, square: false, label: 'activation slice' });
    this.heatBox = h('div', { class: 'lenslab-main' }, this.heatmap.el, this.colorbar.el);
    this.attention = new AttentionView({ maxPlot: 400 });
    this.host = h('div', { class: 'lenslab-slice' });
    this.readout = h('div', { class: 'lenslab-readout', 'aria-live': 'polite' });
    this.detail = h('div', { class: 'lenslab-cache-detail' }, this.detailTitle, this.stats, this.controls, this.host, this.readout);
    this.el = h('div', { class: 'lenslab-cache-body' }, h('div', { class: 'lenslab-cache-side' }, this.filter, this.tree), this.detail);
    this.tooltip = new Tooltip(this.el);
    // Heatmaps and line plots take the detail pane's width: redraw when it changes.
    if (typeof ResizeObserver !== 'undefined') {
      this.resizer = new ResizeObserver(() => {
        const w = this.detail.clientWidth;
        if (Math.abs(w - this.lastWidth) < 16) return;
        this.lastWidth = w;
        if (this.slice && (this.slice.view === 'heatmap' || this.slice.view === 'line')) this.setSlice(this.slice);
      });
      this.resizer.observe(this.detail);
    }

    // Hover or keyboard focus on a cell or a sample shows its value (a click does nothing).
    this.heatmap.describe = (cell) => this.cellTooltip(cell);
    this.heatmap.onHover = (cell, at) => {
      const s = this.slice;
      if (!cell || !s) {
        this.tooltip.hide();
        return;
      }
      const [rowText, colText, value] = this.cellTooltip(cell);
      this.readout.textContent = `${rowText.value} \u00b7 ${colText.value}: ${value.value}`;
      if (at) this.tooltip.show(at.clientX, at.clientY, this.cellTooltip(cell), at.anchor);
    };
    this.line.describe = (i) => this.sampleTooltip(i);
    this.line.onHover = (i, at) => {
      const s = this.slice;
      if (i === null || !s) {
        this.tooltip.hide();
        return;
      }
      const [where, value] = this.sampleTooltip(i);
      this.readout.textContent = `${where.value}: ${value.value}`;
      if (at) this.tooltip.show(at.clientX, at.clientY, this.sampleTooltip(i), at.anchor);
    };
  }

  /** What a heatmap cell says (its tooltip and, focused, its accessible name): row, column, value. */
  cellTooltip(cell: Cell): TooltipLine[] {
    const s = this.slice;
    if (!s) return [];
    return [
      { value: `${s.rowAxis} ${cell.row}${tokenSuffix(s.rowLabels, cell.row)}` },
      { value: `${s.colAxis} ${cell.col}${tokenSuffix(s.colLabels, cell.col)}` },
      { label: 'value', value: formatValue(this.heatmap.value(cell.row, cell.col), 4), strong: true },
    ];
  }

  /** What a line-plot sample says (its tooltip and, focused, its accessible name): position, value. */
  sampleTooltip(i: number): TooltipLine[] {
    const s = this.slice;
    if (!s) return [];
    return [{ value: `${s.colAxis} ${i}${tokenSuffix(s.colLabels, i)}` }, { label: 'value', value: formatValue(this.line.values[i], 4), strong: true }];
  }

  setHooks(hooks: HookInfo[], selected: string): void {
    this.hooks = hooks;
    this.selected = selected;
    this.drawTree();
    this.revealSelected();
  }

  /** Scrolls the tree (only the tree, never the notebook) so the selected hook is in view. */
  revealSelected(): void {
    const run = (): void => {
      const row = this.tree.querySelector<HTMLElement>('.lenslab-hook.lenslab-selected');
      if (!row) return;
      const t = this.tree.getBoundingClientRect();
      const r = row.getBoundingClientRect();
      if (t.height === 0) return;
      const header = this.tree.querySelector<HTMLElement>('.lenslab-hook-header')?.offsetHeight ?? 0;
      if (r.top < t.top + header * 2 || r.bottom > t.bottom) this.tree.scrollTop += r.top - t.top - t.height / 3;
    };
    run();
    // Not laid out yet (just rendered into the notebook): try again on the next frames.
    if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => requestAnimationFrame(run));
  }

  private drawTree(): void {
    const groups = groupHooks(this.hooks, this.filter.value);
    // The shape column is as wide as the longest shape, so it never runs into the numbers.
    const shapeChars = Math.max(5, ...this.hooks.map((hk) => shapeText(hk.shape).length));
    this.tree.style.setProperty('--ll-shape-w', `${shapeChars + 1}ch`);
    if (groups.length === 0) {
      this.tree.replaceChildren(h('div', { class: 'lenslab-muted lenslab-pad', text: this.hooks.length ? 'No hook matches the filter.' : 'The cache is empty.' }));
      return;
    }
    const header = h(
      'div',
      { class: 'lenslab-hook lenslab-hook-header', 'aria-hidden': 'true' },
      h('span', { text: 'hook' }),
      h('span', { text: 'shape' }),
      h('span', { text: 'mean' }),
      h('span', { text: 'std' }),
      h('span', { text: 'norm' }),
    );
    this.tree.replaceChildren(
      header,
      ...groups.map((g) => {
        // A tree may own only items and groups (axe's aria-required-children): each group is
        // role=group, and its heading is the tree item that expands it (as the sidebar's tree).
        const summary = h('summary', { role: 'treeitem', 'aria-expanded': 'true' }, h('span', { text: g.label }), h('span', { class: 'lenslab-muted', text: ` ${g.count}` }));
        const details = h('details', { class: 'lenslab-group', open: true, role: 'group', 'aria-label': g.label }, summary);
        details.addEventListener('toggle', () => summary.setAttribute('aria-expanded', String(details.open)));
        for (const comp of g.components) {
          if (g.components.length > 1 || comp.component !== g.label) details.append(h('div', { class: 'lenslab-component', text: comp.component }));
          for (const hook of comp.hooks) details.append(this.hookRow(hook));
        }
        return details;
      }),
    );
  }

  private hookRow(hook: HookInfo): HTMLElement {
    const isSel = hook.name === this.selected;
    const row = h(
      'button',
      {
        class: isSel ? 'lenslab-hook lenslab-selected' : 'lenslab-hook',
        type: 'button',
        role: 'treeitem',
        'aria-selected': String(isSel),
        'data-name': hook.name,
        title: `${hook.name}  ${formatShape(hook.shape)} ${hook.dtype}${hook.nonfinite ? `  (${hook.nonfinite} non-finite)` : ''}${hook.masked ? `  (${hook.masked} masked)` : ''}`,
      },
      h('span', { class: 'lenslab-hook-name', text: treeLabel(hook) }),
      h('span', { class: 'lenslab-num lenslab-hook-shape', text: shapeText(hook.shape) }),
      h('span', { class: 'lenslab-num', text: formatValue(hook.mean, 3) }),
      h('span', { class: 'lenslab-num', text: formatValue(hook.std, 3) }),
      h('span', { class: 'lenslab-num', text: formatValue(hook.norm, 3) }),
    );
    row.addEventListener('click', () => {
      if (hook.name === this.selected) return;
      this.selected = hook.name;
      this.tree.querySelectorAll('.lenslab-hook.lenslab-selected').forEach((el) => {
        el.classList.remove('lenslab-selected');
        el.setAttribute('aria-selected', 'false');
      });
      row.classList.add('lenslab-selected');
      row.setAttribute('aria-selected', 'true');
      this.cb.onSelect(hook.name);
    });
    return row;
  }

  setControls(controls: SliceControls, values: SliceControls, tokens: readonly string[]): void {
    const make = (key: keyof SliceControls, label: string, size: number, current: number, all?: string): HTMLElement => {
      const select = h('select', { class: `lenslab-select lenslab-control-${key}`, 'aria-label': label });
      if (all) select.append(h('option', { value: '-1', text: all }));
      for (let i = 0; i < size; i++) {
        const text = key === 'pos' && tokens[i] !== undefined && tokens[i] !== String(i) ? `${i} ${displayToken(tokens[i], 16)}` : String(i);
        select.append(h('option', { value: String(i), text }));
      }
      select.value = String(current);
      select.addEventListener('change', () => this.cb.onControl(key, Number(select.value)));
      return h('label', { class: 'lenslab-control' }, h('span', { text: label }), select);
    };
    const parts: HTMLElement[] = [];
    if (controls.batch > 1) parts.push(make('batch', 'batch', controls.batch, values.batch));
    if (controls.head > 0) parts.push(make('head', 'head', controls.head, values.head));
    if (controls.pos > 0) parts.push(make('pos', 'position', controls.pos, values.pos, 'all'));
    this.controls.replaceChildren(...parts);
    this.controls.hidden = parts.length === 0;
  }

  setDetail(hook: HookInfo | undefined): void {
    if (!hook) {
      this.detailTitle.replaceChildren(h('span', { class: 'lenslab-muted', text: 'Select a hook point on the left.' }));
      this.stats.replaceChildren();
      return;
    }
    this.detailTitle.replaceChildren(
      h('span', { class: 'lenslab-hook-title', text: hook.name }),
      h('span', { class: 'lenslab-muted', text: ` ${formatShape(hook.shape)} ${hook.dtype}` }),
    );
    const stat = (label: string, v: number | null): HTMLElement =>
      h('span', { class: 'lenslab-stat' }, h('span', { class: 'lenslab-muted', text: `${label} ` }), h('span', { class: 'lenslab-num', text: formatValue(v, 4) }));
    const parts = [stat('mean', hook.mean), stat('std', hook.std), stat('norm', hook.norm)];
    // The causal mask's -inf scores are expected: said plainly, not flagged as a warning.
    if (hook.masked) parts.push(h('span', { class: 'lenslab-stat lenslab-muted', text: `${hook.masked} masked (-inf, causal mask)` }));
    if (hook.nonfinite) parts.push(h('span', { class: 'lenslab-stat lenslab-warn', text: `${hook.nonfinite} non-finite (NaN/inf)` }));
    this.stats.replaceChildren(...parts);
  }

  /** Width for plots: the detail pane's, or a default before it is laid out. */
  plotWidth(): number {
    const w = this.detail.clientWidth;
    return w > 0 ? Math.max(240, w - 4) : 560;
  }

  dispose(): void {
    this.resizer?.disconnect();
  }

  setSlice(s: SliceInput): void {
    this.slice = s;
    this.tooltip.hide();
    this.readout.textContent = '';
    if (s.view === 'pattern') {
      const H = s.tensor.shape[0] ?? 0;
      const names = Array.from({ length: H }, (_, i) => (s.layer >= 0 ? `L${s.layer}H${i}` : `H${i}`));
      const keep = this.attention.input?.selected ?? 0;
      this.attention.update({ pattern: s.tensor, tokens: s.tokens, headNames: names, selected: keep < H ? keep : 0, vmax: 1, title: s.title });
      this.host.replaceChildren(this.attention.el);
    } else if (s.view === 'heatmap') {
      this.scale = divergingScale(maxAbs(s.tensor.data, 1));
      const [R, C] = s.tensor.shape;
      this.heatmap.setLimits(this.plotWidth() - 90, 360);
      this.heatmap.setData({
        values: s.tensor.data,
        rows: R,
        cols: C,
        scale: this.scale,
        rowLabels: s.rowLabels.length === R ? s.rowLabels : undefined,
        colLabels: s.colLabels.length === C ? s.colLabels : undefined,
        rowAxis: s.rowAxis,
        colAxis: s.colAxis,
      });
      this.colorbar.update(this.scale, Math.max(120, this.heatmap.layout.gridH), finiteRange(s.tensor.data).nonFinite > 0);
      this.host.replaceChildren(this.heatBox);
      this.readout.textContent = 'Hover or focus a cell to read its value.';
    } else if (s.view === 'line') {
      this.line.setData(s.tensor.data, Math.min(760, this.plotWidth()), 220, s.colLabels, s.colAxis);
      this.host.replaceChildren(this.line.el);
      this.readout.textContent = 'Hover or focus the plot to read values.';
    } else {
      this.host.replaceChildren(h('div', { class: 'lenslab-muted lenslab-pad', text: s.message || 'Nothing to show.' }));
    }
  }

  figure(): Figure {
    const s = this.slice;
    const items: FigureItem[] = [{ type: 'text', x: 12, y: 22, text: s?.title ?? 'Activation cache', size: 14, bold: true }];
    if (!s || s.view === 'empty') return { width: 400, height: 40, background: '#ffffff', items };
    if (s.view === 'pattern') {
      const fig = this.attention.figure();
      return { ...fig, items: [...items, ...translateItems(fig.items.slice(1), 0, 0)] };
    }
    if (s.view === 'line') {
      items.push(...translateItems(this.line.figureItems(), 12, 36));
      return { width: 12 + (this.line.geom?.width ?? 560) + 12, height: 36 + 220 + 12, background: '#ffffff', items };
    }
    const L = this.heatmap.layout;
    items.push(...translateItems(this.heatmap.figureItems(), 12, 36));
    items.push(...translateItems(this.colorbar.figureItems(), 12 + L.width + 16, 36));
    return { width: 12 + L.width + 16 + 70, height: 36 + Math.max(L.height, this.colorbar.figureHeight()) + 12, background: '#ffffff', items };
  }
}
