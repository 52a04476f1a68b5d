import { describe, expect, it } from 'vitest';
import { sequentialScale, colorOf } from '../shared/colorscale';
import { f32View, fakeModel, fakeRows, flush, key, mouse } from '../shared/test_utils';
import type { AttentionModel } from '../shared/types';
import widget from './index';

const render = widget.render;
import { AttentionView, headLabel, attentionColumn, attentionRow, describeDestination, describeSource, headName, orientedSlice, thumbSize, topAttended } from './view';

// 2 heads x 3 tokens, causal: head 0 attends to the previous token, head 1 to the first.
const P = [
  [1, 0, 0, 1, 0, 0, 0, 1, 0],
  [1, 0, 0, 1, 0, 0, 1, 0, 0],
].flat();
P[7] = 0.75;
P[6] = 0.25; // head 0, dest 2: 0.25 to "The", 0.75 to " cat"
const tokens = ['The', ' cat', ' sat'];

function model(extra: Partial<AttentionModel> = {}) {
  return fakeModel<AttentionModel>({
    data: f32View(P),
    dtype: 'float32',
    shape: [2, 3, 3],
    title: 'Layer 0 attention',
    tokens,
    head_names: ['L0H0', 'L0H1'],
    selected_head: 0,
    vmax: 1,
    view_by: 'destination',
    ...extra,
  });
}

describe('hover logic', () => {
  const pattern = { data: new Float32Array(P), shape: [2, 3, 3] };

  it('reads one destination row of one head', () => {
    expect(Array.from(attentionRow(pattern, 0, 2))).toEqual([0.25, 0.75, 0]);
    expect(Array.from(attentionRow(pattern, 1, 2))).toEqual([1, 0, 0]);
  });

  it('ranks attended sources, largest first, earlier position on ties', () => {
    expect(topAttended([0.25, 0.75, 0], tokens, 2)).toEqual([
      { src: 1, token: ' cat', value: 0.75 },
      { src: 0, token: 'The', value: 0.25 },
    ]);
    expect(topAttended([0.5, 0.5], ['a', 'b'], 1)[0].src).toBe(0);
    expect(topAttended([NaN, 0.2], ['a', 'b'])).toHaveLength(1);
  });

  it('describes where a destination attends, with values', () => {
    expect(describeDestination(pattern, tokens, 0, 2, 2)).toBe('\u201c sat\u201d (2) attends to \u201c cat\u201d (1) 0.75, \u201cThe\u201d (0) 0.25');
  });

  it('reads a source column and transposes a head for the by-source view', () => {
    expect(Array.from(attentionColumn(pattern, 0, 0))).toEqual([1, 1, 0.25]);
    // Oracle: element [s, d] of the transposed slice is the weight from dest d to source s.
    const t = orientedSlice(pattern, 0, 'source');
    for (let d = 0; d < 3; d++) for (let s = 0; s < 3; s++) expect(t[s * 3 + d]).toBe(attentionRow(pattern, 0, d)[s]);
    expect(orientedSlice(pattern, 1, 'destination')).toEqual(new Float32Array(P.slice(9, 18)));
  });

  it('describes which destinations attend to a source', () => {
    expect(describeSource(pattern, tokens, 0, 1, 2)).toBe('\u201c cat\u201d (1) is attended to by \u201c sat\u201d (2) 0.75, \u201cThe\u201d (0) 0');
  });

  it('keeps the chosen orientation across new slices that do not set one (the cache explorer)', () => {
    const view = new AttentionView();
    const input = { pattern, tokens, headNames: ['a', 'b'], selected: 0, vmax: 1, title: '' };
    view.update(input);
    view.setViewBy('source');
    view.update({ ...input, selected: 1 });
    expect(view.viewBy()).toBe('source');
    view.update({ ...input, viewBy: 'destination' });
    expect(view.viewBy()).toBe('destination');
  });

  it('names heads for screen readers: the visible name first, then spelled out', () => {
    expect(headLabel(['L1H3'], 0)).toBe('L1H3, Layer 1 head 3');
    expect(headLabel(['L12H0', 'first'], 1)).toBe('first, head 1');
    expect(headLabel([], 4)).toBe('H4, head 4');
  });

  it('names heads and sizes thumbnails', () => {
    expect(headName(['L3H0'], 0)).toBe('L3H0');
    expect(headName([], 5)).toBe('H5');
    expect(thumbSize(10, 10)).toEqual({ w: 72, h: 72 });
    expect(thumbSize(5, 10, 60)).toEqual({ w: 60, h: 30 });
  });
});

describe('AttentionPatterns widget', () => {
  it('renders a thumbnail per head with its name, and the selected head large', () => {
    const el = document.createElement('div');
    render({ model: model(), el });
    const thumbs = [...el.querySelectorAll('.lenslab-thumb')];
    expect(thumbs.map((t) => t.getAttribute('aria-label'))).toEqual(['L0H0, Layer 0 head 0', 'L0H1, Layer 0 head 1']);
    expect(thumbs.map((t) => t.textContent)).toEqual(['L0H0', 'L0H1']);
    expect(thumbs[0].getAttribute('aria-selected')).toBe('true');
    expect(el.querySelector('.lenslab-head-name')!.textContent).toBe('L0H0');
    expect(el.querySelector('.lenslab-title')!.textContent).toBe('Layer 0 attention');
    expect(el.querySelector('.lenslab-meta')!.textContent).toBe('2 heads \u00b7 3 tokens');
    expect(el.querySelectorAll('.lenslab-token')).toHaveLength(3);
    expect(el.querySelector('.lenslab-error')!.hasAttribute('hidden')).toBe(true);
    expect(Number((el.firstChild as HTMLElement).dataset.renderMs)).toBeGreaterThanOrEqual(0);
  });

  it('hovering a destination token shades its sources and shows the weights', () => {
    const el = document.createElement('div');
    render({ model: model(), el });
    const strip = [...el.querySelectorAll<HTMLElement>('.lenslab-token')];
    strip[2].dispatchEvent(new MouseEvent('mouseenter'));
    const scale = sequentialScale(0, 1);
    expect(strip[1].style.background).toBe(colorOf(scale, 0.75));
    expect(strip[1].querySelector('.lenslab-token-value')!.textContent).toBe('0.75');
    expect(strip[0].querySelector('.lenslab-token-value')!.textContent).toBe('0.25');
    expect(strip[2].querySelector('.lenslab-token-value')!.textContent).toBe('');
    expect(strip[2].classList.contains('lenslab-dest')).toBe(true);
    expect(el.querySelector('.lenslab-readout')!.textContent).toContain('L0H0: \u201c sat\u201d (2) attends to \u201c cat\u201d (1) 0.75');
    strip[2].dispatchEvent(new MouseEvent('mouseleave'));
    expect(strip[1].style.background).toBe('');
  });

  it('hovering a heatmap cell shows a tooltip with the weight', () => {
    const el = document.createElement('div');
    document.body.append(el);
    render({ model: model(), el });
    const canvas = el.querySelector<HTMLCanvasElement>('.lenslab-plot canvas')!;
    const cell = Number.parseFloat(canvas.style.width) / 3;
    canvas.dispatchEvent(mouse('mousemove', 1.5 * cell, 2.5 * cell));
    const tip = el.querySelector('.lenslab-tooltip')!;
    expect(tip.hasAttribute('hidden')).toBe(false);
    expect(tip.textContent).toContain('weight0.75');
    expect(tip.textContent).toContain('dest2 \u201c sat\u201d');
    expect(el.querySelector('.lenslab-readout')!.textContent).toContain('attends to');
  });

  it('clicking a thumbnail selects the head and syncs it to Python', () => {
    const el = document.createElement('div');
    const m = model();
    render({ model: m, el });
    el.querySelectorAll<HTMLButtonElement>('.lenslab-thumb')[1].click();
    expect(m.get('selected_head')).toBe(1);
    expect(m.saved).toBe(1);
    expect(el.querySelector('.lenslab-head-name')!.textContent).toBe('L0H1');
  });

  it('hovering a thumbnail previews that head; leaving restores the selected one; click still selects', () => {
    const el = document.createElement('div');
    const m = model();
    render({ model: m, el });
    const thumbs = el.querySelectorAll<HTMLButtonElement>('.lenslab-thumb');
    const view = el.querySelector<HTMLElement>('.lenslab-attention-view')!;
    thumbs[1].dispatchEvent(new MouseEvent('mouseenter'));
    expect(el.querySelector('.lenslab-head-name')!.textContent).toBe('L0H1');
    expect(el.querySelector('.lenslab-preview-note')!.textContent).toContain('click to select');
    expect(view.dataset.shownHead).toBe('1');
    expect(thumbs[1].classList.contains('lenslab-previewing')).toBe(true);
    expect(thumbs[0].getAttribute('aria-selected')).toBe('true'); // a preview selects nothing
    expect(m.saved).toBe(0);
    // The strip follows the previewed head: head 1 sends " sat" all to "The".
    el.querySelectorAll<HTMLElement>('.lenslab-token')[2].dispatchEvent(new MouseEvent('mouseenter'));
    expect(el.querySelector('.lenslab-readout')!.textContent).toContain('L0H1: \u201c sat\u201d (2) attends to \u201cThe\u201d (0) 1');
    thumbs[1].dispatchEvent(new MouseEvent('mouseleave'));
    expect(el.querySelector('.lenslab-head-name')!.textContent).toBe('L0H0');
    expect(el.querySelector('.lenslab-preview-note')).toBeNull();
    thumbs[1].dispatchEvent(new MouseEvent('mouseenter'));
    thumbs[1].click();
    expect(m.get('selected_head')).toBe(1);
    expect(el.querySelector('.lenslab-preview-note')).toBeNull();
    thumbs[1].dispatchEvent(new MouseEvent('mouseleave'));
    expect(el.querySelector('.lenslab-head-name')!.textContent).toBe('L0H1');
  });

  it('keyboard: the thumbnails are one Tab stop on the selected head; focus previews, arrows move, Enter selects', () => {
    const el = document.createElement('div');
    document.body.append(el);
    const m = model();
    render({ model: m, el });
    const thumbs = [...el.querySelectorAll<HTMLButtonElement>('.lenslab-thumb')];
    const view = el.querySelector<HTMLElement>('.lenslab-attention-view')!;
    const name = () => el.querySelector('.lenslab-head-name')!.textContent;
    expect(el.querySelector('.lenslab-thumbs')!.getAttribute('role')).toBe('listbox');
    expect(thumbs.map((t) => t.getAttribute('role'))).toEqual(['option', 'option']);
    expect(thumbs.map((t) => t.tabIndex)).toEqual([0, -1]);
    thumbs[0].focus();
    expect(name()).toBe('L0H0');
    expect(key(thumbs[0], 'ArrowRight').defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(thumbs[1]);
    expect(thumbs.map((t) => t.tabIndex)).toEqual([-1, 0]);
    // Focus previews exactly as hover does: large view, note, dashed thumbnail; nothing selected.
    expect(name()).toBe('L0H1');
    expect(view.dataset.shownHead).toBe('1');
    expect(el.querySelector('.lenslab-preview-note')!.textContent).toContain('click to select');
    expect(thumbs[1].classList.contains('lenslab-previewing')).toBe(true);
    expect(thumbs[0].getAttribute('aria-selected')).toBe('true');
    expect(m.saved).toBe(0);
    key(thumbs[1], 'Home');
    expect(document.activeElement).toBe(thumbs[0]);
    expect(name()).toBe('L0H0');
    key(thumbs[0], 'End');
    expect(key(thumbs[1], 'Enter').defaultPrevented).toBe(true);
    expect(m.get('selected_head')).toBe(1);
    expect(m.saved).toBe(1);
    expect(thumbs[1].getAttribute('aria-selected')).toBe('true');
    expect(el.querySelector('.lenslab-preview-note')).toBeNull();
    // Leaving the thumbnails shows the selected head, as leaving with the mouse does.
    key(thumbs[1], 'ArrowLeft');
    expect(name()).toBe('L0H0');
    thumbs[0].blur();
    expect(name()).toBe('L0H1');
    expect(view.dataset.shownHead).toBe('1');
    key(thumbs[0], ' ');
    expect(m.get('selected_head')).toBe(0);
    // Selected from Python: Tab lands on the new selected head.
    m.set('selected_head', 1);
    expect(thumbs.map((t) => t.tabIndex)).toEqual([-1, 0]);
    el.remove();
  });

  it('keyboard: Up and Down move across rows of wrapped thumbnails', () => {
    const el = document.createElement('div');
    document.body.append(el);
    const H = 5;
    const data = Array.from({ length: H }, () => P.slice(0, 9)).flat();
    render({ model: model({ data: f32View(data), shape: [H, 3, 3], head_names: [] }), el });
    const thumbs = [...el.querySelectorAll<HTMLButtonElement>('.lenslab-thumb')];
    expect(thumbs.map((t) => t.getAttribute('aria-label'))).toEqual(['H0, head 0', 'H1, head 1', 'H2, head 2', 'H3, head 3', 'H4, head 4']);
    fakeRows(thumbs, 3);
    thumbs[1].focus();
    key(thumbs[1], 'ArrowDown');
    expect(document.activeElement).toBe(thumbs[4]);
    expect(el.querySelector('.lenslab-head-name')!.textContent).toBe('H4');
    key(thumbs[4], 'ArrowUp');
    expect(document.activeElement).toBe(thumbs[1]);
    key(thumbs[1], 'ArrowRight');
    key(thumbs[2], 'ArrowRight'); // on past the end of the row to the next head
    expect(document.activeElement).toBe(thumbs[3]);
    el.remove();
  });

  it('keyboard: the token strip is one Tab stop; focus shades like hover, Enter pins like a click', () => {
    const el = document.createElement('div');
    document.body.append(el);
    render({ model: model(), el });
    const strip = [...el.querySelectorAll<HTMLElement>('.lenslab-token')];
    const readout = () => el.querySelector('.lenslab-readout')!.textContent;
    expect(strip.map((t) => t.tabIndex)).toEqual([0, -1, -1]);
    expect(strip[1].getAttribute('aria-label')).toBe('token 1 \u201c cat\u201d');
    strip[0].focus();
    key(strip[0], 'End');
    expect(document.activeElement).toBe(strip[2]);
    expect(strip[2].classList.contains('lenslab-dest')).toBe(true);
    expect(readout()).toContain('L0H0: \u201c sat\u201d (2) attends to \u201c cat\u201d (1) 0.75');
    expect(strip[1].getAttribute('aria-label')).toBe('token 1 \u201c cat\u201d, weight 0.75');
    expect(strip[2].getAttribute('aria-label')).toBe('token 2 \u201c sat\u201d, destination');
    key(strip[2], 'Enter');
    expect(strip[2].classList.contains('lenslab-pinned')).toBe(true);
    expect(strip[2].getAttribute('aria-selected')).toBe('true');
    key(strip[2], 'ArrowLeft');
    expect(readout()).toContain('\u201c cat\u201d (1) attends to');
    strip[1].blur(); // back to the pinned token, as leaving with the mouse
    expect(readout()).toContain('\u201c sat\u201d (2) attends to');
    el.remove();
  });

  it('keyboard: the heatmap is one Tab stop; a focused cell shows the hover tooltip, is named by it, Enter pins its row', () => {
    const el = document.createElement('div');
    document.body.append(el);
    render({ model: model(), el });
    const tip = el.querySelector<HTMLElement>('.lenslab-tooltip')!;
    const canvas = el.querySelector<HTMLCanvasElement>('.lenslab-plot canvas')!;
    const size = Number.parseFloat(canvas.style.width) / 3;
    canvas.dispatchEvent(mouse('mousemove', 1.5 * size, 2.5 * size)); // dest 2, src 1
    const hovered = tip.textContent;
    canvas.dispatchEvent(mouse('mouseleave'));
    expect(tip.hidden).toBe(true);

    const grid = el.querySelector<HTMLElement>('.lenslab-plot [role="grid"]')!;
    expect(grid.getAttribute('aria-label')).toBe('attention pattern');
    const stops = () => grid.querySelectorAll<HTMLElement>('[tabindex="0"]');
    expect(stops()).toHaveLength(1);
    stops()[0].focus();
    key(document.activeElement!, 'ArrowDown');
    key(document.activeElement!, 'ArrowDown');
    key(document.activeElement!, 'ArrowRight');
    const cell = document.activeElement as HTMLElement;
    expect(cell.getAttribute('role')).toBe('gridcell');
    expect(tip.hidden).toBe(false);
    expect(tip.textContent).toBe(hovered); // exactly what hovering the same cell shows
    expect(cell.getAttribute('aria-label')).toBe('L0H0, dest 2 \u201c sat\u201d, src 1 \u201c cat\u201d, weight 0.75');
    expect(el.querySelector('.lenslab-readout')!.textContent).toContain('\u201c sat\u201d (2) attends to');
    const strip = [...el.querySelectorAll<HTMLElement>('.lenslab-token')];
    key(cell, 'Enter'); // as a click on the row: pins destination 2
    expect(strip[2].classList.contains('lenslab-pinned')).toBe(true);
    key(document.activeElement!, 'ArrowUp');
    expect(strip[1].classList.contains('lenslab-dest')).toBe(true);
    (document.activeElement as HTMLElement).blur(); // leaving: back to the pinned row, tooltip gone
    expect(tip.hidden).toBe(true);
    expect(strip[2].classList.contains('lenslab-dest')).toBe(true);
    el.remove();
  });

  it('the toggle shows the pattern by source, transposed, and syncs view_by', () => {
    const el = document.createElement('div');
    document.body.append(el);
    const m = model();
    render({ model: m, el });
    const toggle = el.querySelector<HTMLButtonElement>('.lenslab-view-by')!;
    expect(toggle.textContent).toBe('Rows: destination');
    toggle.click();
    expect(m.get('view_by')).toBe('source');
    expect(m.saved).toBe(1);
    expect(toggle.textContent).toBe('Rows: source');
    expect(toggle.getAttribute('aria-pressed')).toBe('true');
    expect(el.querySelector('.lenslab-plot-title')!.textContent).toContain('source \u2193 \u00b7 destination \u2192');
    // Row 0 of the large view is now source "The": the heatmap cell (row 0, col 2) is dest 2 -> src 0.
    const canvas = el.querySelector<HTMLCanvasElement>('.lenslab-plot canvas')!;
    const cell = Number.parseFloat(canvas.style.width) / 3;
    canvas.dispatchEvent(mouse('mousemove', 2.5 * cell, 0.5 * cell));
    const tip = el.querySelector('.lenslab-tooltip')!.textContent;
    expect(tip).toContain('dest2 \u201c sat\u201d');
    expect(tip).toContain('src0 \u201cThe\u201d');
    expect(tip).toContain('weight0.25');
    const strip = [...el.querySelectorAll<HTMLElement>('.lenslab-token')];
    strip[1].dispatchEvent(new MouseEvent('mouseenter'));
    expect(el.querySelector('.lenslab-readout')!.textContent).toBe('L0H0: \u201c cat\u201d (1) is attended to by \u201c sat\u201d (2) 0.75, \u201cThe\u201d (0) 0, \u201c cat\u201d (1) 0');
    expect(strip[2].querySelector('.lenslab-token-value')!.textContent).toBe('0.75');
    // And back from Python.
    m.set('view_by', 'destination');
    expect(toggle.textContent).toBe('Rows: destination');
    expect(el.querySelector('.lenslab-plot-title')!.textContent).toContain('destination \u2193 \u00b7 source \u2192');
    el.remove();
  });

  it('follows selected_head and new data from Python', async () => {
    const el = document.createElement('div');
    const m = model();
    render({ model: m, el });
    m.set('selected_head', 1);
    expect(el.querySelector('.lenslab-head-name')!.textContent).toBe('L0H1');
    m.update({ data: f32View([1]), shape: [1, 1, 1], tokens: ['x'], head_names: ['L5H0'], selected_head: 0 });
    await flush();
    expect(el.querySelectorAll('.lenslab-thumb')).toHaveLength(1);
    expect(el.querySelector('.lenslab-head-name')!.textContent).toBe('L5H0');
  });

  it('shows a readable error for a payload that does not match its shape', () => {
    const el = document.createElement('div');
    render({ model: model({ shape: [2, 3, 4] }), el });
    const err = el.querySelector('.lenslab-error')!;
    expect(err.hasAttribute('hidden')).toBe(false);
    expect(err.textContent).toContain('72 bytes but shape [2, 3, 4] of float32 needs 96');
  });

  it('returns a cleanup that stops listening', () => {
    const el = document.createElement('div');
    const m = model();
    const cleanup = render({ model: m, el });
    cleanup();
    expect(el.children).toHaveLength(0);
    m.set('selected_head', 1);
  });
});
