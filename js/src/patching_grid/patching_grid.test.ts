import { describe, expect, it } from 'vitest';
import { DIVERGING_STOPS, colorOf } from '../shared/colorscale';
import { f32View, fakeModel, flush, key, mouse } from '../shared/test_utils';
import type { PatchingModel } from '../shared/types';
import widget from './index';

const render = widget.render;
import { linesLabel } from '../shared/tooltip';
import { LABELLED_PANELS_MAX, cellSummary, cellTooltip, describeCell, panelLimits, patchingScale } from './view';

const COMPONENTS = ['output', 'query', 'key', 'value', 'pattern'];
// [5 components, 2 layers, 3 heads]: value = component + layer/10 - head/100, one negative cell.
const values: number[] = [];
for (let c = 0; c < 5; c++) for (let l = 0; l < 2; l++) for (let hd = 0; hd < 3; hd++) values.push(c + l / 10 - hd / 100);
values[0] = -4;

function model(extra: Partial<PatchingModel> = {}) {
  return fakeModel<PatchingModel>({
    data: f32View(values),
    dtype: 'float32',
    shape: [5, 2, 3],
    title: 'Activation patching: every head component',
    panel_titles: COMPONENTS,
    row_labels: ['L0', 'L1'],
    col_labels: ['H0', 'H1', 'H2'],
    row_axis: 'layer',
    col_axis: 'head',
    vmax: 0,
    kind: 'head_components_all_pos',
    selected: null,
    ...extra,
  });
}

function input() {
  return {
    values: { data: new Float32Array(values), shape: [5, 2, 3] },
    panelTitles: COMPONENTS,
    rowLabels: ['L0', 'L1'],
    colLabels: ['H0', 'H1', 'H2'],
    rowAxis: 'layer',
    colAxis: 'head',
    vmax: 0,
    title: '',
    selected: null,
  };
}

describe('patching scale and cell text', () => {
  it('is symmetric around zero, sized by the largest |value| unless vmax is given', () => {
    expect(patchingScale([-4, 1, 3], 0)).toMatchObject({ min: -4, max: 4 });
    expect(patchingScale([0.1, 0.2], 2)).toMatchObject({ min: -2, max: 2 });
    expect(patchingScale([0, 0], 0)).toMatchObject({ min: -1, max: 1 });
    const s = patchingScale([-4, 4], 0);
    expect(colorOf(s, 0)).toBe(`rgb(${DIVERGING_STOPS[5].join(', ')})`);
  });

  it('describes a cell with its panel, axis labels and value', () => {
    expect(describeCell(input(), 1, { row: 1, col: 2 })).toEqual({ title: 'query', row: 'layer L1', col: 'head H2', value: expect.closeTo(1.08, 5) });
    expect(cellSummary(input(), 1, { row: 1, col: 2 })).toBe('query \u00b7 layer L1 \u00b7 head H2: 1.08');
    const pos = { ...input(), colAxis: 'position', colLabels: ['The', ' cat', ' sat'] };
    expect(describeCell(pos, 0, { row: 0, col: 1 }).col).toBe('position 1 \u201c cat\u201d');
  });

  it('gives one panel a big plot and many panels small ones', () => {
    expect(panelLimits(1).maxHeight).toBeGreaterThan(panelLimits(5).maxHeight);
    expect(panelLimits(LABELLED_PANELS_MAX + 1).maxCell).toBeLessThan(panelLimits(5).maxCell);
  });
});

describe('PatchingGrid widget', () => {
  it('renders five labelled panels with axis labels and one colour bar', () => {
    const el = document.createElement('div');
    render({ model: model(), el });
    expect([...el.querySelectorAll('figcaption')].map((f) => f.textContent)).toEqual(COMPONENTS);
    const first = el.querySelector('.lenslab-panel')!;
    expect([...first.querySelectorAll('.lenslab-row-label')].map((e) => e.textContent)).toEqual(['L0', 'L1']);
    expect([...first.querySelectorAll('.lenslab-col-label')].map((e) => e.textContent)).toEqual(['H0', 'H1', 'H2']);
    expect(el.querySelectorAll('.lenslab-colorbar')).toHaveLength(1);
    const ticks = [...el.querySelectorAll('.lenslab-colorbar-tick')].map((e) => e.textContent);
    expect(ticks).toEqual(['-4', '-2', '0', '2', '4']);
    expect(el.querySelector('.lenslab-meta')!.textContent).toBe('5 panels \u00b7 2 \u00d7 3 (layer \u00d7 head)');
  });

  it('shows the value of the hovered cell', () => {
    const el = document.createElement('div');
    document.body.append(el);
    render({ model: model(), el });
    const canvas = el.querySelectorAll<HTMLCanvasElement>('.lenslab-heatmap-canvas')[2];
    const cell = Number.parseFloat(canvas.style.width) / 3;
    canvas.dispatchEvent(mouse('mousemove', 0.5 * cell, 1.5 * cell));
    expect(el.querySelector('.lenslab-tooltip')!.textContent).toContain('value2.1');
    expect(el.querySelector('.lenslab-readout')!.textContent).toBe('key \u00b7 layer L1 \u00b7 head H0: 2.1');
  });

  it('sends a clicked cell to Python and marks it', () => {
    const el = document.createElement('div');
    const m = model();
    render({ model: m, el });
    const canvas = el.querySelectorAll<HTMLCanvasElement>('.lenslab-heatmap-canvas')[4];
    const cell = Number.parseFloat(canvas.style.width) / 3;
    canvas.dispatchEvent(mouse('click', 2.5 * cell, 0.5 * cell));
    expect(m.get('selected')).toEqual({ panel: 4, row: 0, col: 2 });
    expect(m.saved).toBe(1);
    const marks = [...el.querySelectorAll<HTMLElement>('.lenslab-mark-selected')];
    expect(marks.map((mk) => mk.hidden)).toEqual([true, true, true, true, false]);
    expect(el.querySelector('.lenslab-selection')!.textContent).toBe('Selected: pattern \u00b7 layer L0 \u00b7 head H2: 3.98');
  });

  it('keyboard: each panel is one Tab stop; focus reads a cell as hover does, Enter and Space select it as a click does', () => {
    const el = document.createElement('div');
    document.body.append(el);
    const m = model();
    render({ model: m, el });
    const grids = [...el.querySelectorAll<HTMLElement>('[role="grid"]')];
    expect(grids.map((g) => g.getAttribute('aria-label'))).toEqual(COMPONENTS.map((c) => `${c} patching results`));
    expect(grids.map((g) => g.querySelectorAll('[tabindex="0"]').length)).toEqual([1, 1, 1, 1, 1]);
    const tip = el.querySelector<HTMLElement>('.lenslab-tooltip')!;
    const canvas = el.querySelectorAll<HTMLCanvasElement>('.lenslab-heatmap-canvas')[2];
    const size = Number.parseFloat(canvas.style.width) / 3;
    canvas.dispatchEvent(mouse('mousemove', 0.5 * size, 1.5 * size));
    const hovered = tip.textContent;
    canvas.dispatchEvent(mouse('mouseleave'));

    grids[2].querySelector<HTMLElement>('[tabindex="0"]')!.focus();
    key(document.activeElement!, 'ArrowDown');
    const cell = document.activeElement as HTMLElement;
    expect(tip.textContent).toBe(hovered);
    expect(cell.getAttribute('aria-label')).toBe(linesLabel(cellTooltip(input(), 2, { row: 1, col: 0 })));
    expect(cell.getAttribute('aria-label')).toBe('key, layer L1, head H0, value 2.1');
    expect(el.querySelector('.lenslab-readout')!.textContent).toBe('key \u00b7 layer L1 \u00b7 head H0: 2.1');
    key(cell, 'Enter');
    expect(m.get('selected')).toEqual({ panel: 2, row: 1, col: 0 });
    expect(m.saved).toBe(1);
    expect([...el.querySelectorAll<HTMLElement>('.lenslab-mark-selected')].map((mk) => mk.hidden)).toEqual([true, true, false, true, true]);
    key(document.activeElement!, 'End');
    key(document.activeElement!, ' ');
    expect(m.get('selected')).toEqual({ panel: 2, row: 1, col: 2 });
    expect(el.querySelector('.lenslab-selection')!.textContent).toBe('Selected: key \u00b7 layer L1 \u00b7 head H2: 2.08');
    el.remove();
  });

  it('marks a selection made from Python and redraws on new results', async () => {
    const el = document.createElement('div');
    const m = model();
    render({ model: m, el });
    m.set('selected', { panel: 0, row: 0, col: 0, value: -4 });
    expect(el.querySelector('.lenslab-selection')!.textContent).toBe('Selected: output \u00b7 layer L0 \u00b7 head H0: -4');
    m.update({ data: f32View([1, -1]), shape: [1, 1, 2], panel_titles: [''], row_labels: ['L0'], col_labels: ['a', 'b'], col_axis: 'position', selected: null });
    await flush();
    expect(el.querySelectorAll('.lenslab-panel')).toHaveLength(1);
    expect(el.querySelector('figcaption')).toBeNull();
  });

  it('shows NaN cells in the marked colour with a legend entry', () => {
    const el = document.createElement('div');
    render({ model: model({ data: f32View([NaN, 1]), shape: [1, 1, 2], panel_titles: [''], row_labels: ['L0'], col_labels: ['a', 'b'] }), el });
    expect(el.querySelector('.lenslab-colorbar-nan')!.hasAttribute('hidden')).toBe(false);
  });
});
