// ColoredTokens: a prompt's tokens as chips coloured by one value each, a colour bar, a column
// selector when there are several quantities, and the exact value on hover.
import { Colorbar } from '../shared/colorbar';
import { type ColorScale, divergingScale, formatValue } from '../shared/colorscale';
import { h } from '../shared/dom';
import { type Figure, type FigureItem, translateItems } from '../shared/export_image';
import type { Tensor } from '../shared/tensor';
import { type ChipPoint, chipFigureItems, chipStrip, chipTooltip, quotedChip, tokenScale } from '../shared/token_chips';
import { Tooltip } from '../shared/tooltip';
import type { Cmap } from '../shared/types';

export interface ColoredTokensInput {
  tokens: readonly string[];
  /** [pos, k]. */
  values: Tensor;
  columnLabels: readonly string[];
  column: number;
  cmap: Cmap;
  vmin: number;
  vmax: number;
  title: string;
}

/** Column `c` of a [pos, k] tensor. */
export function column(values: Tensor, c: number): Float32Array {
  const [P, K] = values.shape.length === 2 ? values.shape : [values.shape[0], 1];
  const out = new Float32Array(P);
  for (let i = 0; i < P; i++) out[i] = values.data[i * K + c];
  return out;
}

export class ColoredTokensView {
  readonly el: HTMLDivElement;
  input: ColoredTokensInput | null = null;
  scale: ColorScale = divergingScale(1);
  shown: Float32Array = new Float32Array(0);
  chips: HTMLSpanElement[] = [];
  readonly colorbar = new Colorbar('token value scale');
  readonly tooltip: Tooltip;
  private readonly select: HTMLSelectElement;
  private readonly selectBox: HTMLLabelElement;
  private readonly body: HTMLDivElement;
  private readonly readout: HTMLDivElement;

  constructor(private readonly onColumn?: (c: number) => void) {
    this.select = h('select', { class: 'lenslab-column-select', 'aria-label': 'value column' });
    this.select.addEventListener('change', () => {
      const c = Number(this.select.value);
      this.showColumn(c);
      this.onColumn?.(c);
    });
    this.selectBox = h('label', { class: 'lenslab-column' }, h('span', { class: 'lenslab-muted', text: 'column ' }), this.select);
    this.body = h('div', { class: 'lenslab-chips-box' });
    this.readout = h('div', { class: 'lenslab-readout', 'aria-live': 'polite' });
    this.el = h('div', { class: 'lenslab-tokens-view' }, this.selectBox, h('div', { class: 'lenslab-main' }, this.body, this.colorbar.el), this.readout);
    this.tooltip = new Tooltip(this.el);
  }

  update(input: ColoredTokensInput): void {
    const [P, K] = input.values.shape.length === 2 ? input.values.shape : [input.values.shape[0], 1];
    if (P !== input.tokens.length) throw new Error(`lenslab: ${input.tokens.length} tokens but ${P} values`);
    this.input = input;
    this.scale = tokenScale(input.cmap, input.vmin, input.vmax);
    this.select.replaceChildren(...Array.from({ length: K }, (_, c) => h('option', { value: c, text: input.columnLabels[c] ?? String(c) })));
    this.selectBox.hidden = K < 2;
    this.showColumn(input.column);
  }

  /** Recolours the chips by column `c` (same scale for every column). */
  showColumn(c: number): void {
    const input = this.input;
    if (!input) return;
    this.select.value = String(c);
    this.shown = column(input.values, c);
    const strip = chipStrip(input.tokens, this.shown, this.scale, (i, at) => this.hover(i, at), -1, input.title || 'Tokens');
    this.chips = strip.chips;
    this.body.replaceChildren(strip.el);
    this.colorbar.update(this.scale, 100, this.shown.some((v) => !Number.isFinite(v)));
    this.readout.textContent = 'Hover a token (or Tab to the tokens and use the arrow keys) to read its value.';
  }

  private hover(i: number, ev: ChipPoint): void {
    const input = this.input;
    if (!input || i < 0) {
      this.tooltip.hide();
      return;
    }
    const K = input.values.shape[1] ?? 1;
    const extra = K > 1 ? [{ label: 'column ', value: input.columnLabels[Number(this.select.value)] ?? this.select.value }] : [];
    this.tooltip.show(ev.clientX, ev.clientY, chipTooltip(input.tokens, this.shown, i, extra), ev.anchor);
    this.readout.textContent = `token ${i} ${quotedChip(input.tokens[i])}: ${formatValue(this.shown[i], 6)}`;
  }

  hoverText(): string {
    return this.tooltip.text();
  }

  figure(): Figure {
    const input = this.input;
    const width = 640;
    const items: FigureItem[] = [{ type: 'text', x: 12, y: 22, text: input?.title || 'Token values', size: 14, bold: true }];
    const chips = input ? chipFigureItems(input.tokens, this.shown, this.scale, width) : { items: [], height: 0 };
    items.push(...translateItems(chips.items, 12, 40));
    items.push(...translateItems(this.colorbar.figureItems(), width + 28, 40));
    return { width: width + 100, height: Math.max(chips.height, this.colorbar.figureHeight()) + 60, background: '#ffffff', items };
  }
}
