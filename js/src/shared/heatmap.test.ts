import { describe, expect, it, vi } from 'vitest';
import { divergingScale, rgbOf } from './colorscale';
import { FULL_LABELS_MAX, Heatmap, MIN_LABEL_CELL, cellAt, focusBox, heatmapLayout, labelStep, nextZoom, visibleLabels } from './heatmap';
import { key, mouse } from './test_utils';
import { linesLabel } from './tooltip';

describe('heatmapLayout', () => {
  it('caps small grids at the largest cell size with whole-pixel cells', () => {
    const L = heatmapLayout(2, 8, { maxWidth: 600, maxHeight: 400, maxCell: 28 });
    expect(L.cellW).toBe(28);
    expect(L.cellH).toBe(28);
    expect(L.gridW).toBe(224);
    expect(L.rowStep).toBe(1);
  });

  it('shrinks big grids to fit and thins the labels so they never overlap', () => {
    const tokens = Array.from({ length: 512 }, (_, i) => `tok${i}`);
    const L = heatmapLayout(512, 512, { maxWidth: 640, maxHeight: 480, rowLabels: tokens, colLabels: tokens });
    expect(L.gridW).toBeLessThanOrEqual(640 - L.rowLabelW);
    expect(L.gridH).toBeLessThanOrEqual(480);
    expect(L.cellW).toBe(L.cellH);
    expect(L.rowStep * L.cellH).toBeGreaterThanOrEqual(MIN_LABEL_CELL - 1);
    expect(L.colVertical).toBe(true);
    expect(L.colStep * L.cellW).toBeGreaterThanOrEqual(MIN_LABEL_CELL - 1);
  });

  it('labels every row and column of axes up to FULL_LABELS_MAX, growing cells past the limits', () => {
    const heads = Array.from({ length: 8 }, (_, i) => `H${i}`);
    const narrow = heatmapLayout(2, 8, { maxWidth: 120, maxHeight: 60, rowLabels: ['L0', 'L1'], colLabels: heads });
    expect([narrow.rowStep, narrow.colStep]).toEqual([1, 1]);
    expect(narrow.cellW).toBeGreaterThanOrEqual(MIN_LABEL_CELL);
    const tokens = Array.from({ length: FULL_LABELS_MAX }, (_, i) => ` token${i}`);
    const many = heatmapLayout(FULL_LABELS_MAX, FULL_LABELS_MAX, { maxWidth: 300, maxHeight: 300, rowLabels: tokens, colLabels: tokens });
    expect([many.rowStep, many.colStep, many.colVertical]).toEqual([1, 1, true]);
    expect(many.fontPx).toBeGreaterThanOrEqual(9);
  });

  it('zooms cells by the zoom factor and steps through the zoom levels', () => {
    const base = heatmapLayout(512, 512, { maxWidth: 640, maxHeight: 480 });
    const zoomed = heatmapLayout(512, 512, { maxWidth: 640, maxHeight: 480, zoom: 4 });
    expect(zoomed.cellW).toBe(Math.floor(base.cellW * 4));
    expect(zoomed.gridW).toBe(zoomed.cellW * 512);
    expect(nextZoom(1, 1)).toBe(1.5);
    expect(nextZoom(1.5, -1)).toBe(1);
    expect(nextZoom(1, -1)).toBe(1);
    expect(nextZoom(16, 1)).toBe(16);
  });

  it('lets wide slices stretch when cells need not be square', () => {
    const L = heatmapLayout(8, 768, { maxWidth: 560, maxHeight: 360, maxCell: 26, square: false });
    expect(L.cellH).toBe(26);
    expect(L.cellW).toBeLessThan(1);
    expect(L.gridW).toBeCloseTo(560, 5);
  });

  it('lays short column labels out horizontally and long ones vertically', () => {
    const heads = heatmapLayout(3, 4, { maxWidth: 400, maxHeight: 400, colLabels: ['H0', 'H1', 'H2', 'H3'] });
    expect(heads.colVertical).toBe(false);
    const words = heatmapLayout(3, 4, { maxWidth: 400, maxHeight: 400, maxCell: 20, colLabels: ['tokenization', 'b', 'c', 'd'] });
    expect(words.colVertical).toBe(true);
  });

  it('reserves room for axis titles', () => {
    const L = heatmapLayout(3, 3, { maxWidth: 400, maxHeight: 400, rowAxis: 'layer', colAxis: 'head' });
    expect(L.axisW).toBeGreaterThan(0);
    expect(L.colAxisH).toBeGreaterThan(0);
    expect(L.height).toBe(L.gridH + L.colLabelH + L.colAxisH);
  });
});

describe('hit testing and label thinning', () => {
  const L = heatmapLayout(4, 5, { maxWidth: 1000, maxHeight: 1000, maxCell: 10 });

  it('maps points to cells and rejects points outside', () => {
    expect(cellAt(L, 0, 0)).toEqual({ row: 0, col: 0 });
    expect(cellAt(L, 49.9, 39.9)).toEqual({ row: 3, col: 4 });
    expect(cellAt(L, 25, 12)).toEqual({ row: 1, col: 2 });
    expect(cellAt(L, 50, 10)).toBeNull();
    expect(cellAt(L, -1, 10)).toBeNull();
  });

  it('computes label steps', () => {
    expect(labelStep(20, 13)).toBe(1);
    expect(labelStep(1, 13)).toBe(13);
    expect(labelStep(0, 13)).toBe(1);
    expect(visibleLabels(10, 3)).toEqual([0, 3, 6, 9]);
    expect(visibleLabels(11, 3)).toEqual([0, 3, 6, 9]);
    expect(visibleLabels(13, 3)).toEqual([0, 3, 6, 9, 12]);
  });
});

describe('Heatmap component', () => {
  const values = new Float32Array([-1, 0, 1, 0.5, -0.5, NaN]);
  const scale = divergingScale(1);

  function make(): Heatmap {
    const hm = new Heatmap({ maxWidth: 400, maxHeight: 400, maxCell: 20 });
    hm.setData({ values, rows: 2, cols: 3, scale, rowLabels: ['L0', 'L1'], colLabels: ['a', 'b', 'c'], rowAxis: 'layer', colAxis: 'position' });
    document.body.append(hm.el);
    return hm;
  }

  it('paints one pixel per cell with the scale', () => {
    const hm = make();
    expect(hm.rgba.length).toBe(6 * 4);
    expect(Array.from(hm.rgba.slice(0, 3))).toEqual([...rgbOf(scale, -1)]);
    expect(Array.from(hm.rgba.slice(8, 11))).toEqual([...rgbOf(scale, 1)]);
    expect(Array.from(hm.rgba.slice(20, 23))).toEqual([...rgbOf(scale, NaN)]);
  });

  it('draws every label of a small grid and the axis titles', () => {
    const hm = make();
    const rows = [...hm.el.querySelectorAll('.lenslab-row-label')].map((e) => e.textContent);
    const cols = [...hm.el.querySelectorAll('.lenslab-col-label')].map((e) => e.textContent);
    expect(rows).toEqual(['L0', 'L1']);
    expect(cols).toEqual(['a', 'b', 'c']);
    expect(hm.el.querySelector('.lenslab-row-axis')!.textContent).toBe('layer');
    expect(hm.el.querySelector('.lenslab-col-axis')!.textContent).toBe('position');
  });

  it('reports hovered and clicked cells', () => {
    const hm = make();
    const onHover = vi.fn();
    const onClick = vi.fn();
    hm.onHover = onHover;
    hm.onClick = onClick;
    const { cellW, cellH } = hm.layout;
    hm.canvas.dispatchEvent(mouse('mousemove', 2.5 * cellW, 1.5 * cellH));
    expect(onHover).toHaveBeenLastCalledWith({ row: 1, col: 2 }, expect.anything());
    expect(hm.value(1, 2)).toBeNaN();
    hm.canvas.dispatchEvent(mouse('click', 0.5 * cellW, 0.5 * cellH));
    expect(onClick).toHaveBeenCalledWith({ row: 0, col: 0 }, expect.anything());
    hm.canvas.dispatchEvent(mouse('mouseleave'));
    expect(onHover).toHaveBeenLastCalledWith(null);
  });

  it('marks a selected cell and a highlighted row', () => {
    const hm = make();
    hm.setSelectedCell({ row: 1, col: 1 });
    const mark = hm.el.querySelector('.lenslab-mark-selected') as HTMLElement;
    expect(mark.hidden).toBe(false);
    expect(mark.style.left).toBe(`${hm.layout.cellW}px`);
    hm.setSelectedCell(null);
    expect(mark.hidden).toBe(true);
    hm.setHighlightRow(0);
    expect((hm.el.querySelector('.lenslab-mark-row') as HTMLElement).style.width).toBe(`${3 * hm.layout.cellW}px`);
  });

  it('describes itself as figure items for export', () => {
    const hm = make();
    const items = hm.figureItems();
    expect(items.find((i) => i.type === 'heatmap')).toMatchObject({ rows: 2, cols: 3 });
    expect(items.filter((i) => i.type === 'text').map((i) => (i.type === 'text' ? i.text : ''))).toEqual(['L0', 'L1', 'a', 'b', 'c', 'layer', 'position']);
  });
});

describe('Heatmap zoom control', () => {
  const tokens = Array.from({ length: 200 }, (_, i) => `t${i}`);
  const data = { values: new Float32Array(200 * 200), rows: 200, cols: 200, scale: divergingScale(1), rowLabels: tokens, colLabels: tokens };

  it('appears for thinned labels, and zooming in shows more labels in a scroll box', () => {
    const hm = new Heatmap({ maxWidth: 500, maxHeight: 400 });
    hm.setData(data);
    expect(hm.zoomBar.hidden).toBe(false);
    expect((hm.zoomBar.querySelector('[aria-label="Zoom out"]') as HTMLButtonElement).disabled).toBe(true);
    const before = hm.el.querySelectorAll('.lenslab-row-label').length;
    expect(before).toBeLessThan(200);
    (hm.zoomBar.querySelector('[aria-label="Zoom in"]') as HTMLButtonElement).click();
    (hm.zoomBar.querySelector('[aria-label="Zoom in"]') as HTMLButtonElement).click();
    (hm.zoomBar.querySelector('[aria-label="Zoom in"]') as HTMLButtonElement).click();
    expect(hm.zoom).toBe(3);
    expect(hm.el.querySelectorAll('.lenslab-row-label').length).toBeGreaterThan(before);
    expect(hm.el.querySelector('.lenslab-heatmap-scroll')!.classList.contains('lenslab-zoomed')).toBe(true);
    expect(hm.zoomBar.textContent).toContain('300%');
    (hm.zoomBar.querySelector('[aria-label="Fit to view"]') as HTMLButtonElement).click();
    expect(hm.zoom).toBe(1);
  });

  it('stays hidden for a small, fully labelled grid; ctrl+wheel zooms', () => {
    const hm = new Heatmap({ maxWidth: 500, maxHeight: 400 });
    hm.setData({ ...data, values: new Float32Array(4), rows: 2, cols: 2, rowLabels: ['a', 'b'], colLabels: ['c', 'd'] });
    expect(hm.zoomBar.hidden).toBe(true);
    const wheel = (ctrlKey: boolean): Event => Object.assign(new Event('wheel', { cancelable: true }), { deltaY: -1, ctrlKey, metaKey: false });
    hm.canvas.dispatchEvent(wheel(true));
    expect(hm.zoom).toBe(1.5);
    hm.canvas.dispatchEvent(wheel(false));
    expect(hm.zoom).toBe(1.5);
  });
});

describe('heatmapLayout with one long axis', () => {
  it('keeps a 2-row panel labelled in full without stretching 150 positions past the width', () => {
    const cols = Array.from({ length: 150 }, (_, i) => String(i));
    const L = heatmapLayout(2, 150, { maxWidth: 760, maxHeight: 520, maxCell: 36, rowLabels: ['L0', 'L1'], colLabels: cols });
    expect(L.rowStep).toBe(1);
    expect(L.cellH).toBeGreaterThanOrEqual(MIN_LABEL_CELL);
    expect(L.width).toBeLessThanOrEqual(760);
    expect(L.colStep).toBeGreaterThan(1);
  });
});

describe('Heatmap keyboard', () => {
  const scale = divergingScale(1);
  // 3 rows x 4 columns; value = row * 10 + col.
  const values = new Float32Array(Array.from({ length: 12 }, (_, i) => Math.floor(i / 4) * 10 + (i % 4)));

  function make(): Heatmap {
    const hm = new Heatmap({ maxWidth: 400, maxHeight: 400, maxCell: 20, label: 'test grid' });
    hm.describe = (cell) => [{ value: `r${cell.row}` }, { label: 'c', value: String(cell.col) }, { label: 'v', value: String(hm.value(cell.row, cell.col)) }];
    hm.setData({ values, rows: 3, cols: 4, scale });
    document.body.replaceChildren(hm.el);
    return hm;
  }
  const focused = (): HTMLElement => document.activeElement as HTMLElement;
  const at = (el: HTMLElement): [string | null, string | null] => [el.parentElement!.getAttribute('aria-rowindex'), el.getAttribute('aria-colindex')];

  it('is one Tab stop in an ARIA grid: one gridcell, named by what its tooltip says', () => {
    const hm = make();
    const grid = hm.el.querySelector('[role="grid"]')!;
    expect(grid.getAttribute('aria-label')).toBe('test grid');
    expect([grid.getAttribute('aria-rowcount'), grid.getAttribute('aria-colcount')]).toEqual(['3', '4']);
    expect(hm.canvas.getAttribute('aria-hidden')).toBe('true');
    const cells = hm.el.querySelectorAll<HTMLElement>('[role="gridcell"]');
    expect(cells).toHaveLength(1);
    expect(cells[0].tabIndex).toBe(0);
    expect(cells[0].parentElement!.getAttribute('role')).toBe('row');
    expect(at(cells[0])).toEqual(['1', '1']);
    expect(cells[0].getAttribute('aria-label')).toBe(linesLabel(hm.describe({ row: 0, col: 0 })));
    expect(cells[0].getAttribute('aria-label')).toBe('r0, c 0, v 0');
    expect(hm.el.querySelectorAll('[tabindex="0"]')).toHaveLength(1);
  });

  it('arrows, Home and End move the focused cell in 2-D; its name follows', () => {
    const hm = make();
    hm.keys.element!.focus();
    key(focused(), 'ArrowRight');
    key(focused(), 'ArrowDown');
    expect(at(focused())).toEqual(['2', '2']);
    expect(focused().getAttribute('aria-label')).toBe('r1, c 1, v 11');
    key(focused(), 'End');
    expect(at(focused())).toEqual(['2', '4']);
    key(focused(), 'ArrowRight'); // the last column: stays
    key(focused(), 'ArrowDown');
    key(focused(), 'ArrowDown');
    expect(focused().getAttribute('aria-label')).toBe('r2, c 3, v 23');
    key(focused(), 'Home');
    expect(at(focused())).toEqual(['3', '1']);
    key(focused(), 'ArrowUp');
    expect(at(focused())).toEqual(['2', '1']);
    expect(hm.el.querySelectorAll('[role="gridcell"]')).toHaveLength(1);
    // The focused cell is drawn over its cell of the canvas.
    const box = focusBox(hm.layout, { row: 1, col: 0 });
    expect([focused().style.left, focused().style.top]).toEqual([`${box.left}px`, `${box.top}px`]);
  });

  it('focus does what hover does: reports the cell with an anchor for the tooltip and marks it; leaving clears it', () => {
    const hm = make();
    const onHover = vi.fn();
    hm.onHover = onHover;
    hm.keys.element!.focus();
    expect(onHover).toHaveBeenLastCalledWith({ row: 0, col: 0 }, expect.objectContaining({ anchor: expect.anything() }));
    key(focused(), 'ArrowDown');
    expect(onHover).toHaveBeenLastCalledWith({ row: 1, col: 0 }, expect.objectContaining({ anchor: expect.anything() }));
    const mark = hm.el.querySelector<HTMLElement>('.lenslab-mark-hover')!;
    expect(mark.hidden).toBe(false);
    expect(mark.style.top).toBe(`${hm.layout.cellH}px`);
    const outside = document.createElement('button');
    document.body.append(outside);
    outside.focus();
    expect(onHover).toHaveBeenLastCalledWith(null);
    expect(mark.hidden).toBe(true);
  });

  it('Enter and Space do what a click does, on the focused cell', () => {
    const hm = make();
    const onClick = vi.fn();
    hm.onClick = onClick;
    hm.keys.element!.focus();
    key(focused(), 'ArrowRight');
    expect(key(focused(), 'Enter').defaultPrevented).toBe(true);
    expect(onClick).toHaveBeenLastCalledWith({ row: 0, col: 1 });
    key(focused(), 'ArrowDown');
    key(focused(), ' ');
    expect(onClick).toHaveBeenLastCalledWith({ row: 1, col: 1 });
    expect(onClick).toHaveBeenCalledTimes(2);
  });

  it('Tab comes back to the cell last clicked or selected, and to the same cell after new data', () => {
    const hm = make();
    const { cellW, cellH } = hm.layout;
    hm.canvas.dispatchEvent(mouse('click', 2.5 * cellW, 1.5 * cellH));
    expect(at(hm.keys.element!)).toEqual(['2', '3']);
    hm.setSelectedCell({ row: 2, col: 3 });
    expect(at(hm.keys.element!)).toEqual(['3', '4']);
    hm.keys.element!.focus();
    hm.setData({ values: values.map((v) => -v), rows: 3, cols: 4, scale });
    expect(document.activeElement).toBe(hm.keys.element); // a redraw keeps focus, on the same cell
    expect(focused().getAttribute('aria-label')).toBe('r2, c 3, v -23');
    hm.setData({ values: new Float32Array(4), rows: 2, cols: 2, scale });
    expect(at(focused())).toEqual(['2', '2']); // clamped into the smaller grid
  });
});
