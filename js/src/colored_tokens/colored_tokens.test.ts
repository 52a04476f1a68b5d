import { describe, expect, it } from 'vitest';
import { DIVERGING_STOPS, SEQUENTIAL_STOPS, colorOf, contrastRatio, divergingScale, sequentialScale } from '../shared/colorscale';
import { f32View, fakeModel, flush, key, mountWidget } from '../shared/test_utils';
import type { ColoredTokensModel } from '../shared/types';
import widget from './index';
import { figureToSvg } from '../shared/export_image';
import { tokenScale } from '../shared/token_chips';
import { ColoredTokensView, column } from './view';

const TOKENS = ['The', ' cat', '\n', ' sat', '  '];
const VALUES = [2, -2, 0, 1, -0.5];

function model(extra: Partial<ColoredTokensModel> = {}) {
  return fakeModel<ColoredTokensModel>({
    data: f32View(VALUES),
    dtype: 'float32',
    shape: [5, 1],
    title: 'gradient per token',
    tokens: TOKENS,
    column_labels: ['0'],
    column: 0,
    cmap: 'diverging',
    vmin: -2,
    vmax: 2,
    ...extra,
  });
}

const mount = (m = model()) => mountWidget(widget, m);

const chips = (el: HTMLElement) => [...el.querySelectorAll<HTMLElement>('.lenslab-chip')];
const rgb = (css: string) => css.match(/\d+/g)!.map(Number) as [number, number, number];

describe('ColoredTokens widget', () => {
  it('draws one chip per token, whitespace made visible', () => {
    const el = mount();
    expect(chips(el).map((c) => c.textContent)).toEqual(['The', ' cat', '\u21b5', ' sat', '\u00b7\u00b7']);
    expect(chips(el).map((c) => c.dataset.pos)).toEqual(['0', '1', '2', '3', '4']);
    expect(el.querySelector('.lenslab-title')!.textContent).toBe('gradient per token');
    expect(el.querySelector('.lenslab-meta')!.textContent).toBe('5 tokens \u00b7 diverging \u00b12');
  });

  it('colours chips by value on one symmetric scale: 0 white, +-max the ends, +-v mirrored', () => {
    const el = mount();
    const bg = chips(el).map((c) => c.style.background);
    expect(bg[0]).toBe(`rgb(${DIVERGING_STOPS[10].join(', ')})`);
    expect(bg[1]).toBe(`rgb(${DIVERGING_STOPS[0].join(', ')})`);
    expect(bg[2]).toBe(`rgb(${DIVERGING_STOPS[5].join(', ')})`);
    const scale = divergingScale(2);
    expect(bg).toEqual(VALUES.map((v) => colorOf(scale, v)));
    // Darker for larger |value| (blue grows darker from 1 to 2).
    const sum = (c: string) => rgb(c).reduce((a, b) => a + b, 0);
    expect(sum(bg[0])).toBeLessThan(sum(bg[3]));
  });

  it('keeps AA contrast: white text on dark chips, black on light ones', () => {
    const el = mount();
    const fg = (css: string): [number, number, number] => (css === '#fff' || css === 'rgb(255, 255, 255)' ? [255, 255, 255] : [0, 0, 0]);
    expect(chips(el).map((c) => fg(c.style.color)[0])).toEqual([255, 255, 0, 0, 0]);
    for (const c of chips(el)) expect(contrastRatio(rgb(c.style.background), fg(c.style.color))).toBeGreaterThanOrEqual(4.5);
  });

  it('uses a sequential scale from zero for non-negative values', () => {
    const el = mount(model({ data: f32View([0, 1, 2, 3, 4]), cmap: 'sequential', vmin: 0, vmax: 4 }));
    const bg = chips(el).map((c) => c.style.background);
    expect(bg[0]).toBe(`rgb(${SEQUENTIAL_STOPS[0].join(', ')})`);
    expect(bg[4]).toBe(`rgb(${SEQUENTIAL_STOPS[5].join(', ')})`);
    expect(bg).toEqual([0, 1, 2, 3, 4].map((v) => colorOf(sequentialScale(0, 4), v)));
    expect(el.querySelector('.lenslab-meta')!.textContent).toBe('5 tokens \u00b7 sequential 0..4');
  });

  it('shows the exact value and the index on hover', () => {
    const el = mount(model({ data: f32View([2, -1.23456789, 0, 1, -0.5]) }));
    chips(el)[1].dispatchEvent(new MouseEvent('mouseenter', { clientX: 5, clientY: 5 }));
    const tip = el.querySelector<HTMLElement>('.lenslab-tooltip')!;
    expect(tip.hidden).toBe(false);
    expect(tip.textContent).toBe('token 1 \u201c cat\u201dvalue -1.23457');
    expect(el.querySelector('.lenslab-readout')!.textContent).toBe('token 1 \u201c cat\u201d: -1.23457');
    chips(el)[1].dispatchEvent(new MouseEvent('mouseleave'));
    expect(tip.hidden).toBe(true);
  });

  it('keyboard: the chips are one Tab stop; arrows move, focus shows what hover shows, names carry the value', () => {
    const el = mount(model({ data: f32View([2, -1.23456789, 0, 1, -0.5]) }));
    const c = chips(el);
    const strip = el.querySelector('.lenslab-chips')!;
    expect(strip.getAttribute('role')).toBe('listbox');
    expect(strip.getAttribute('aria-label')).toBe('gradient per token');
    expect(c.map((chip) => chip.getAttribute('role'))).toEqual(Array(5).fill('option'));
    expect(c.map((chip) => chip.tabIndex)).toEqual([0, -1, -1, -1, -1]);
    expect(c[1].getAttribute('aria-label')).toBe('token 1 \u201c cat\u201d, value -1.23457');
    const tip = el.querySelector<HTMLElement>('.lenslab-tooltip')!;
    c[0].focus();
    expect(tip.hidden).toBe(false);
    expect(tip.textContent).toBe('token 0 \u201cThe\u201dvalue 2');
    key(c[0], 'ArrowRight');
    expect(document.activeElement).toBe(c[1]);
    expect(c.map((chip) => chip.tabIndex)).toEqual([-1, 0, -1, -1, -1]);
    expect(tip.textContent).toBe('token 1 \u201c cat\u201dvalue -1.23457');
    expect(el.querySelector('.lenslab-readout')!.textContent).toBe('token 1 \u201c cat\u201d: -1.23457');
    key(c[1], 'End');
    expect(document.activeElement).toBe(c[4]);
    key(c[4], 'Home');
    expect(document.activeElement).toBe(c[0]);
    (document.activeElement as HTMLElement).blur();
    expect(tip.hidden).toBe(true);
    el.remove();
  });

  it('has a colour bar with round ticks over the range', () => {
    const el = mount();
    // Both ends and the centre labelled, round values between (the shared colour bar's tick rule).
    const ticks = [...el.querySelectorAll('.lenslab-colorbar-tick')].map((t) => Number(t.textContent));
    expect([ticks[0], ticks[ticks.length - 1]]).toEqual([-2, 2]);
    expect(ticks).toContain(0);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
  });

  it('switches columns with the selector (same scale) and tells Python', async () => {
    // [pos=5, k=2]: column 1 is minus column 0.
    const both = VALUES.flatMap((v) => [v, -v]);
    const m = model({ data: f32View(both), shape: [5, 2], column_labels: ['grad', 'neg grad'] });
    const el = mount(m);
    const select = el.querySelector<HTMLSelectElement>('.lenslab-column-select')!;
    expect(select.closest('label')!.hidden).toBe(false);
    expect([...select.options].map((o) => o.textContent)).toEqual(['grad', 'neg grad']);
    select.value = '1';
    select.dispatchEvent(new Event('change'));
    expect(m.get('column')).toBe(1);
    expect(m.saved).toBe(1);
    const scale = divergingScale(2);
    expect(chips(el).map((c) => c.style.background)).toEqual(VALUES.map((v) => colorOf(scale, -v)));
    chips(el)[0].dispatchEvent(new MouseEvent('mouseenter'));
    expect(el.querySelector('.lenslab-tooltip')!.textContent).toContain('column neg grad');
    m.set('column', 0);
    await flush();
    expect(chips(el).map((c) => c.style.background)).toEqual(VALUES.map((v) => colorOf(scale, v)));
    expect(select.value).toBe('0');
  });

  it('hides the selector for one column and redraws on new tokens', async () => {
    const m = model();
    const el = mount(m);
    expect(el.querySelector('.lenslab-column-select')!.closest('label')!.hidden).toBe(true);
    m.update({ tokens: ['a', 'b'], data: f32View([1, 2]), shape: [2, 1], vmax: 2 });
    await flush();
    expect(chips(el).map((c) => c.textContent)).toEqual(['a', 'b']);
  });

  it('shows a mismatch in the error box instead of throwing', async () => {
    const m = model();
    const el = mount(m);
    m.update({ tokens: ['a'] });
    await flush();
    expect(el.querySelector<HTMLElement>('.lenslab-error')!.hidden).toBe(false);
  });
});

describe('helpers', () => {
  it('reads one column of [pos, k]', () => {
    expect([...column({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [3, 2] }, 1)]).toEqual([2, 4, 6]);
  });
  it('builds the scale Python chose', () => {
    expect(tokenScale('diverging', -3, 3)).toMatchObject({ min: -3, max: 3, kind: 'diverging' });
    expect(tokenScale('sequential', 0, 5)).toMatchObject({ min: 0, max: 5, kind: 'sequential' });
  });
});

describe('export', () => {
  it('draws the same chips (fill by value, readable text) and the colour bar in the SVG', () => {
    const view = new ColoredTokensView();
    view.update({ tokens: TOKENS, values: { data: new Float32Array(VALUES), shape: [5, 1] }, columnLabels: ['0'], column: 0, cmap: 'diverging', vmin: -2, vmax: 2, title: 'grad' });
    const fig = view.figure();
    const scale = divergingScale(2);
    const rects = fig.items.filter((i) => i.type === 'rect' && i.h === 17);
    expect(rects.map((r) => (r.type === 'rect' ? r.fill : ''))).toEqual(VALUES.map((v) => colorOf(scale, v)));
    const texts = fig.items.filter((i) => i.type === 'text').map((i) => (i.type === 'text' ? [i.text, i.fill] : []));
    expect(texts).toContainEqual(['The', '#fff']);
    expect(texts).toContainEqual(['\u21b5', '#000']);
    expect(texts).toContainEqual(['grad', undefined]);
    const svg = figureToSvg(fig);
    expect(svg).toContain('>\u00b7\u00b7</text>');
    expect(svg).toContain('>-2</text>');
  });
});
