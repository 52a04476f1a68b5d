// TopExamples: a Neuronpedia-style card. An activation histogram (bars coloured by their bin's
// centre), one colour bar, and the top-k contexts with tokens coloured on that one scale and each
// context's max token outlined. Hover a token for its exact activation, a bar for its bin; the
// keyboard reaches both (one Tab stop per context and one for the histogram, roving.ts).
import { Colorbar } from '../shared/colorbar';
import { type ColorScale, colorOf, divergingScale, formatValue } from '../shared/colorscale';
import { h } from '../shared/dom';
import { type Figure, type FigureItem, translateItems } from '../shared/export_image';
import { RovingFocus, pointBelow } from '../shared/roving';
import { type ChipPoint, chipFigureItems, chipStrip, chipTooltip, quotedChip, tokenScale } from '../shared/token_chips';
import { type TooltipAt, type TooltipLine, Tooltip, linesLabel } from '../shared/tooltip';
import type { Cmap } from '../shared/types';

export interface TopExamplesInput {
  /** Every context's tokens, one context after another. */
  tokens: readonly string[];
  /** Activation at each of `tokens`. */
  values: Float32Array;
  lengths: readonly number[];
  scores: readonly number[];
  maxPositions: readonly number[];
  histCounts: readonly number[];
  histEdges: readonly number[];
  cmap: Cmap;
  vmin: number;
  vmax: number;
  title: string;
}

export interface Example {
  tokens: readonly string[];
  values: Float32Array;
  score: number;
  max: number;
}

/** Splits the flat tokens/values into contexts by `lengths`. */
export function splitExamples(input: TopExamplesInput): Example[] {
  const total = input.lengths.reduce((a, b) => a + b, 0);
  if (total !== input.tokens.length || total !== input.values.length) {
    throw new Error(`lenslab: context lengths add up to ${total} but there are ${input.tokens.length} tokens and ${input.values.length} values`);
  }
  let start = 0;
  return input.lengths.map((n, k) => {
    const ex = { tokens: input.tokens.slice(start, start + n), values: input.values.subarray(start, start + n), score: input.scores[k], max: input.maxPositions[k] ?? -1 };
    start += n;
    return ex;
  });
}

export const HIST_WIDTH = 320;
export const HIST_HEIGHT = 64;

export interface HistBar {
  lo: number;
  hi: number;
  count: number;
  /** Height in pixels (a non-empty bin gets at least 1). */
  height: number;
  color: string;
}

/** The histogram's bars: heights relative to the largest count, colours of each bin's centre. */
export function histBars(counts: readonly number[], edges: readonly number[], scale: ColorScale, height = HIST_HEIGHT): HistBar[] {
  if (counts.length && edges.length !== counts.length + 1) throw new Error(`lenslab: ${edges.length} histogram edges for ${counts.length} bins`);
  const peak = Math.max(1, ...counts);
  return counts.map((count, i) => ({
    lo: edges[i],
    hi: edges[i + 1],
    count,
    height: count > 0 ? Math.max(1, (count / peak) * height) : 0,
    color: colorOf(scale, (edges[i] + edges[i + 1]) / 2),
  }));
}

export function binText(bar: HistBar): string {
  return `[${formatValue(bar.lo, 4)}, ${formatValue(bar.hi, 4)}): ${bar.count}`;
}

/** What hovering (or focusing) a bar shows; also the bar's accessible name. */
export function binTooltip(bar: HistBar): TooltipLine[] {
  return [
    { value: `activation ${formatValue(bar.lo, 4)} to ${formatValue(bar.hi, 4)}` },
    { label: 'count ', value: String(bar.count), strong: true },
  ];
}

export class TopExamplesView {
  readonly el: HTMLDivElement;
  input: TopExamplesInput | null = null;
  examples: Example[] = [];
  scale: ColorScale = divergingScale(1);
  bars: HistBar[] = [];
  readonly colorbar = new Colorbar('activation scale');
  readonly tooltip: Tooltip;
  private readonly hist: HTMLDivElement;
  private readonly list: HTMLOListElement;
  private readonly readout: HTMLDivElement;

  constructor() {
    this.hist = h('div', { class: 'lenslab-hist' });
    this.list = h('ol', { class: 'lenslab-examples' });
    this.readout = h('div', { class: 'lenslab-readout', 'aria-live': 'polite' });
    this.el = h('div', { class: 'lenslab-top-view' }, h('div', { class: 'lenslab-main' }, this.hist, this.colorbar.el), this.list, this.readout);
    this.tooltip = new Tooltip(this.el);
  }

  update(input: TopExamplesInput): void {
    this.examples = splitExamples(input);
    this.input = input;
    this.scale = tokenScale(input.cmap, input.vmin, input.vmax);
    this.drawHistogram(input);
    this.colorbar.update(this.scale, HIST_HEIGHT + 24);
    this.list.replaceChildren(
      ...this.examples.map((ex, k) => {
        const strip = chipStrip(ex.tokens, ex.values, this.scale, (i, at) => this.hoverToken(k, i, at), ex.max, `Example ${k + 1} tokens`);
        return h(
          'li',
          { class: 'lenslab-example', 'data-example': k },
          h('div', { class: 'lenslab-example-head' }, h('span', { class: 'lenslab-example-rank', text: `#${k + 1}` }), h('span', { class: 'lenslab-example-score', text: `score ${formatValue(ex.score, 4)}` })),
          strip.el,
        );
      }),
    );
    this.readout.textContent = this.examples.length ? 'Hover a token for its activation, a bar for its bin.' : 'No examples.';
  }

  private drawHistogram(input: TopExamplesInput): void {
    this.bars = histBars(input.histCounts, input.histEdges, this.scale);
    if (!this.bars.length) {
      this.hist.replaceChildren();
      this.hist.hidden = true;
      return;
    }
    this.hist.hidden = false;
    const w = HIST_WIDTH / this.bars.length;
    const barEls = this.bars.map((bar, i) => {
      const el = h('div', { class: 'lenslab-hist-bar', role: 'option', 'aria-selected': 'false', 'aria-label': linesLabel(binTooltip(bar)), 'data-bin': i, 'data-count': bar.count });
      Object.assign(el.style, { width: `${w}px`, height: `${bar.height}px`, background: bar.color });
      el.addEventListener('mouseenter', (ev) => this.hoverBar(i, ev));
      el.addEventListener('mouseleave', () => this.tooltip.hide());
      return el;
    });
    const peak = Math.max(...input.histCounts);
    const plot = h('div', { class: 'lenslab-hist-plot', role: 'listbox', 'aria-label': 'activation histogram' }, ...barEls);
    Object.assign(plot.style, { width: `${HIST_WIDTH}px`, height: `${HIST_HEIGHT}px` });
    // The bars are one Tab stop; focus on a bar shows its bin as hover does (a click does
    // nothing, so neither does Enter).
    new RovingFocus(plot, {
      onFocus: (i, el) => this.hoverBar(i, pointBelow(el)),
      onLeave: () => this.tooltip.hide(),
    }).setItems(barEls, 0);
    const edges = input.histEdges;
    this.hist.replaceChildren(
      h('div', { class: 'lenslab-hist-title lenslab-muted', text: `activation histogram \u00b7 max count ${peak}` }),
      plot,
      h(
        'div',
        { class: 'lenslab-hist-axis' },
        h('span', { class: 'lenslab-hist-tick', text: formatValue(edges[0], 3) }),
        h('span', { class: 'lenslab-muted', text: 'activation' }),
        h('span', { class: 'lenslab-hist-tick', text: formatValue(edges[edges.length - 1], 3) }),
      ),
    );
  }

  private hoverBar(i: number, at: TooltipAt): void {
    const bar = this.bars[i];
    this.tooltip.show(at.clientX, at.clientY, binTooltip(bar), at.anchor);
    this.readout.textContent = `bin ${binText(bar)}`;
  }

  private hoverToken(k: number, i: number, ev: ChipPoint): void {
    const ex = this.examples[k];
    if (!ex || i < 0) {
      this.tooltip.hide();
      return;
    }
    const extra = [{ label: 'example ', value: `#${k + 1}${i === ex.max ? ' \u00b7 max token' : ''}` }];
    this.tooltip.show(ev.clientX, ev.clientY, chipTooltip(ex.tokens, ex.values, i, extra), ev.anchor);
    this.readout.textContent = `#${k + 1} token ${i} ${quotedChip(ex.tokens[i])}: ${formatValue(ex.values[i], 6)}`;
  }

  hoverText(): string {
    return this.tooltip.text();
  }

  figure(): Figure {
    const width = 640;
    const items: FigureItem[] = [{ type: 'text', x: 12, y: 22, text: this.input?.title || 'Top activating examples', size: 14, bold: true }];
    let y = 40;
    if (this.bars.length) {
      const w = HIST_WIDTH / this.bars.length;
      this.bars.forEach((bar, i) => items.push({ type: 'rect', x: 12 + i * w, y: y + HIST_HEIGHT - bar.height, w, h: bar.height, fill: bar.color, stroke: '#bbb', strokeWidth: 0.5 }));
      items.push({ type: 'rect', x: 12, y: y + HIST_HEIGHT, w: HIST_WIDTH, h: 0.5, fill: '#999' });
      const edges = this.input!.histEdges;
      items.push({ type: 'text', x: 12, y: y + HIST_HEIGHT + 12, text: formatValue(edges[0], 3), size: 10, fill: '#444' });
      items.push({ type: 'text', x: 12 + HIST_WIDTH, y: y + HIST_HEIGHT + 12, text: formatValue(edges[edges.length - 1], 3), size: 10, fill: '#444', anchor: 'end' });
      items.push(...translateItems(this.colorbar.figureItems(), 12 + HIST_WIDTH + 24, y));
      y += Math.max(HIST_HEIGHT + 24, this.colorbar.figureHeight()) + 12;
    }
    this.examples.forEach((ex, k) => {
      items.push({ type: 'text', x: 12, y: y + 10, text: `#${k + 1} \u00b7 score ${formatValue(ex.score, 4)}`, size: 10, fill: '#555' });
      const chips = chipFigureItems(ex.tokens, ex.values, this.scale, width, ex.max);
      items.push(...translateItems(chips.items, 12, y + 16));
      y += chips.height + 24;
    });
    return { width: width + 40, height: y + 8, background: '#ffffff', items };
  }
}
