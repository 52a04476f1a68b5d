import { describe, expect, it } from 'vitest';
import { SEQUENTIAL_STOPS, colorOf, contrastRatio, divergingScale, sequentialScale } from '../shared/colorscale';
import { f32View, fakeModel, flush, key, mountWidget } from '../shared/test_utils';
import type { TopExamplesModel } from '../shared/types';
import widget from './index';
import { figureToSvg } from '../shared/export_image';
import { linesLabel } from '../shared/tooltip';
import { TopExamplesView, binText, binTooltip, histBars, splitExamples } from './view';

// Two contexts: ["def", " f", "(\n"] peaks at " f"; ["x", " =", " 4"] peaks at " 4".
const TOKENS = ['def', ' f', '(\n', 'x', ' =', ' 4'];
const VALUES = [0.5, 4, 1, 0, 0.25, 3];

function model(extra: Partial<TopExamplesModel> = {}) {
  return fakeModel<TopExamplesModel>({
    data: f32View(VALUES),
    dtype: 'float32',
    shape: [6],
    title: 'L0 neuron 5',
    tokens: TOKENS,
    lengths: [3, 3],
    scores: [4, 3],
    max_positions: [1, 2],
    hist_counts: [10, 4, 0, 1],
    hist_edges: [0, 1, 2, 3, 4],
    cmap: 'sequential',
    vmin: 0,
    vmax: 4,
    ...extra,
  });
}

const mount = (m = model()) => mountWidget(widget, m);

const rgb = (css: string) => css.match(/\d+/g)!.map(Number) as [number, number, number];

describe('TopExamples widget', () => {
  it('lists each context with its rank and score, tokens as chips', () => {
    const el = mount();
    const examples = [...el.querySelectorAll('.lenslab-example')];
    expect(examples).toHaveLength(2);
    expect(examples.map((e) => e.querySelector('.lenslab-example-rank')!.textContent)).toEqual(['#1', '#2']);
    expect(examples.map((e) => e.querySelector('.lenslab-example-score')!.textContent)).toEqual(['score 4', 'score 3']);
    expect(examples.map((e) => [...e.querySelectorAll('.lenslab-chip')].map((c) => c.textContent))).toEqual([
      ['def', ' f', '(\u21b5'],
      ['x', ' =', ' 4'],
    ]);
    expect(el.querySelector('.lenslab-title')!.textContent).toBe('L0 neuron 5');
    expect(el.querySelector('.lenslab-meta')!.textContent).toBe('2 examples \u00b7 sequential 0..4');
  });

  it('colours every token of every context on one scale and outlines each max token', () => {
    const el = mount();
    const chips = [...el.querySelectorAll<HTMLElement>('.lenslab-chip')];
    const scale = sequentialScale(0, 4);
    expect(chips.map((c) => c.style.background)).toEqual(VALUES.map((v) => colorOf(scale, v)));
    expect(chips[1].style.background).toBe(`rgb(${SEQUENTIAL_STOPS[5].join(', ')})`);
    expect(chips[3].style.background).toBe(`rgb(${SEQUENTIAL_STOPS[0].join(', ')})`);
    expect(chips.filter((c) => c.classList.contains('lenslab-chip-max')).map((c) => c.textContent)).toEqual([' f', ' 4']);
    for (const c of chips) {
      const fg: [number, number, number] = c.style.color === '#fff' || c.style.color === 'rgb(255, 255, 255)' ? [255, 255, 255] : [0, 0, 0];
      expect(contrastRatio(rgb(c.style.background), fg)).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('hover shows the exact activation, the token index and the example', () => {
    const el = mount(model({ data: f32View([0.5, 4, 1, 0, 0.123456789, 3]) }));
    const chip = el.querySelectorAll<HTMLElement>('.lenslab-example')[1].querySelectorAll<HTMLElement>('.lenslab-chip')[1];
    chip.dispatchEvent(new MouseEvent('mouseenter'));
    expect(el.querySelector('.lenslab-tooltip')!.textContent).toBe('token 1 \u201c =\u201dexample #2value 0.123457');
    expect(el.querySelector('.lenslab-readout')!.textContent).toBe('#2 token 1 \u201c =\u201d: 0.123457');
    el.querySelectorAll<HTMLElement>('.lenslab-chip')[1].dispatchEvent(new MouseEvent('mouseenter'));
    expect(el.querySelector('.lenslab-tooltip')!.textContent).toContain('#1 \u00b7 max token');
  });

  it('keyboard: one Tab stop per context, on its max token; arrows move and focus shows the value', () => {
    const el = mount();
    const rows = [...el.querySelectorAll<HTMLElement>('.lenslab-example .lenslab-chips')];
    expect(rows.map((r) => r.getAttribute('aria-label'))).toEqual(['Example 1 tokens', 'Example 2 tokens']);
    const first = [...rows[0].querySelectorAll<HTMLElement>('.lenslab-chip')];
    const second = [...rows[1].querySelectorAll<HTMLElement>('.lenslab-chip')];
    expect(first.map((c) => c.tabIndex)).toEqual([-1, 0, -1]);
    expect(second.map((c) => c.tabIndex)).toEqual([-1, -1, 0]);
    expect(first[1].getAttribute('aria-label')).toBe('token 1 \u201c f\u201d, value 4, max token');
    first[1].focus();
    expect(el.querySelector('.lenslab-tooltip')!.textContent).toContain('#1 \u00b7 max token');
    key(first[1], 'ArrowLeft');
    expect(document.activeElement).toBe(first[0]);
    expect(el.querySelector('.lenslab-readout')!.textContent).toBe('#1 token 0 \u201cdef\u201d: 0.5');
    key(first[0], 'ArrowLeft'); // stays at the first token of its own context
    expect(document.activeElement).toBe(first[0]);
    key(first[0], 'End');
    expect(document.activeElement).toBe(first[2]);
    el.remove();
  });

  it('draws the histogram: bar heights by count, colours by bin centre, labelled range', () => {
    const el = mount();
    const bars = [...el.querySelectorAll<HTMLElement>('.lenslab-hist-bar')];
    expect(bars.map((b) => b.dataset.count)).toEqual(['10', '4', '0', '1']);
    expect(bars.map((b) => Number.parseFloat(b.style.height))).toEqual([64, 25.6, 0, 6.4]);
    const scale = sequentialScale(0, 4);
    expect(bars.map((b) => b.style.background)).toEqual([0.5, 1.5, 2.5, 3.5].map((v) => colorOf(scale, v)));
    expect([...el.querySelectorAll('.lenslab-hist-tick')].map((t) => t.textContent)).toEqual(['0', '4']);
    expect(el.querySelector('.lenslab-hist-title')!.textContent).toBe('activation histogram \u00b7 max count 10');
    bars[1].dispatchEvent(new MouseEvent('mouseenter'));
    expect(el.querySelector('.lenslab-tooltip')!.textContent).toBe('activation 1 to 2count 4');
    const ticks = [...el.querySelectorAll('.lenslab-colorbar-tick')].map((t) => Number(t.textContent));
    expect([ticks[0], ticks[ticks.length - 1]]).toEqual([0, 4]);
  });

  it('keyboard: the histogram is one Tab stop; arrows move between bars, focus shows the hover text, which names each bar', () => {
    const el = mount();
    const plot = el.querySelector<HTMLElement>('.lenslab-hist-plot')!;
    expect([plot.getAttribute('role'), plot.getAttribute('aria-label')]).toEqual(['listbox', 'activation histogram']);
    const bars = [...el.querySelectorAll<HTMLElement>('.lenslab-hist-bar')];
    expect(bars.map((b) => b.tabIndex)).toEqual([0, -1, -1, -1]);
    expect(bars.map((b) => b.getAttribute('aria-label'))).toEqual(['activation 0 to 1, count 10', 'activation 1 to 2, count 4', 'activation 2 to 3, count 0', 'activation 3 to 4, count 1']);
    expect(bars[1].getAttribute('aria-label')).toBe(linesLabel(binTooltip({ lo: 1, hi: 2, count: 4, height: 0, color: '' })));
    const tip = el.querySelector<HTMLElement>('.lenslab-tooltip')!;
    bars[1].dispatchEvent(new MouseEvent('mouseenter'));
    const hovered = tip.textContent;
    bars[1].dispatchEvent(new MouseEvent('mouseleave'));
    bars[0].focus();
    expect(tip.textContent).toBe('activation 0 to 1count 10');
    key(bars[0], 'ArrowRight');
    expect(document.activeElement).toBe(bars[1]);
    expect(tip.textContent).toBe(hovered);
    expect(el.querySelector('.lenslab-readout')!.textContent).toBe('bin [1, 2): 4');
    key(bars[1], 'End');
    expect(document.activeElement).toBe(bars[3]);
    expect(bars.map((b) => b.tabIndex)).toEqual([-1, -1, -1, 0]);
    bars[3].blur();
    expect(tip.hidden).toBe(true);
    el.remove();
  });

  it('uses a diverging scale for signed activations', () => {
    const el = mount(model({ data: f32View([-2, 4, 1, 0, 0.25, 3]), cmap: 'diverging', vmin: -4, vmax: 4, hist_edges: [-2, -1, 0, 2, 4] }));
    const scale = divergingScale(4);
    expect([...el.querySelectorAll<HTMLElement>('.lenslab-chip')].map((c) => c.style.background)).toEqual([-2, 4, 1, 0, 0.25, 3].map((v) => colorOf(scale, v)));
  });

  it('redraws on new examples and reports inconsistent lengths in the error box', async () => {
    const m = model();
    const el = mount(m);
    m.update({ tokens: ['a'], data: f32View([1]), shape: [1], lengths: [1], scores: [1], max_positions: [0], hist_counts: [], hist_edges: [] });
    await flush();
    expect(el.querySelectorAll('.lenslab-chip')).toHaveLength(1);
    expect(el.querySelector<HTMLElement>('.lenslab-hist')!.hidden).toBe(true);
    m.update({ lengths: [2] });
    await flush();
    expect(el.querySelector<HTMLElement>('.lenslab-error')!.hidden).toBe(false);
    expect(el.querySelector('.lenslab-error')!.textContent).toContain('context lengths add up to 2');
  });
});

describe('helpers', () => {
  it('splits flat tokens into contexts', () => {
    const ex = splitExamples({ tokens: TOKENS, values: new Float32Array(VALUES), lengths: [3, 3], scores: [4, 3], maxPositions: [1, 2], histCounts: [], histEdges: [], cmap: 'sequential', vmin: 0, vmax: 4, title: '' });
    expect(ex.map((e) => [e.tokens, [...e.values], e.score, e.max])).toEqual([
      [['def', ' f', '(\n'], [0.5, 4, 1], 4, 1],
      [['x', ' =', ' 4'], [0, 0.25, 3], 3, 2],
    ]);
  });
  it('describes a bin and refuses edges that do not fit the counts', () => {
    const bars = histBars([2], [0, 0.5], sequentialScale(0, 1));
    expect(binText(bars[0])).toBe('[0, 0.5): 2');
    expect(() => histBars([1, 2], [0, 1], sequentialScale(0, 1))).toThrow('2 histogram edges for 2 bins');
  });
});

describe('export', () => {
  it('draws the histogram bars, the chips with each max outlined, and the scores', () => {
    const view = new TopExamplesView();
    view.update({ tokens: TOKENS, values: new Float32Array(VALUES), lengths: [3, 3], scores: [4, 3], maxPositions: [1, 2], histCounts: [10, 4, 0, 1], histEdges: [0, 1, 2, 3, 4], cmap: 'sequential', vmin: 0, vmax: 4, title: 'L0 neuron 5' });
    const fig = view.figure();
    const scale = sequentialScale(0, 4);
    const chipRects = fig.items.filter((i) => i.type === 'rect' && i.h === 17);
    expect(chipRects.map((r) => (r.type === 'rect' ? r.fill : ''))).toEqual(VALUES.map((v) => colorOf(scale, v)));
    expect(chipRects.map((r) => (r.type === 'rect' ? r.stroke : ''))).toEqual(['#d8dee4', '#ffaa00', '#d8dee4', '#d8dee4', '#d8dee4', '#ffaa00']);
    const svg = figureToSvg(fig);
    expect(svg).toContain('#1 \u00b7 score 4');
    expect(svg).toContain('L0 neuron 5');
  });
});
