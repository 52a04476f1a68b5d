import { describe, expect, it } from 'vitest';
import { f32View, fakeModel, flush, key, mouse } from '../shared/test_utils';
import type { CacheModel, HookInfo } from '../shared/types';
import widget from './index';

const render = widget.render;
import { formatShape, groupHooks, matchesFilter, shapeText, shortName, treeLabel } from './view';

function hook(name: string, group: string, component: string, shape: number[]): HookInfo {
  return { name, group, component, shape, dtype: 'float32', mean: 0.5, std: 1.25, norm: 10, nonfinite: 0, masked: 0 };
}

const HOOKS: HookInfo[] = [
  hook('hook_embed', 'Embeddings', 'embed', [1, 3, 4]),
  hook('blocks.0.hook_resid_pre', 'Layer 0', 'resid', [1, 3, 4]),
  hook('blocks.0.attn.hook_z', 'Layer 0', 'attn', [1, 3, 2, 2]),
  hook('blocks.0.attn.hook_pattern', 'Layer 0', 'attn', [1, 2, 3, 3]),
  hook('blocks.0.hook_mlp_out', 'Layer 0', 'mlp', [1, 3, 4]),
  hook('ln_final.hook_scale', 'Final', 'final', [1, 3, 1]),
];

function model(extra: Partial<CacheModel> = {}) {
  return fakeModel<CacheModel>({
    data: f32View([1, -1, 0.5, 0, 2, -2, 0.25, 0.75, 1, 0, 0, 0]),
    dtype: 'float32',
    shape: [3, 4],
    title: 'Activation cache',
    hooks: HOOKS,
    selected: 'blocks.0.hook_resid_pre',
    batch: 0,
    head: 0,
    pos: -1,
    controls: { batch: 2, head: 0, pos: 3 },
    view: 'heatmap',
    tokens: ['The', ' cat', ' sat'],
    row_axis: 'position',
    col_axis: 'd_model',
    row_labels: ['The', ' cat', ' sat'],
    col_labels: [],
    layer: 0,
    message: '',
    revision: 1,
    ...extra,
  });
}

describe('hook tree logic', () => {
  it('groups by layer then component, with the sidebar\'s labels', () => {
    const groups = groupHooks(HOOKS);
    expect(groups.map((g) => g.label)).toEqual(['Embeddings', 'Layer 0', 'Final']);
    expect(groups[1].components.map((c) => c.component)).toEqual(['resid', 'attn', 'mlp']);
    expect(groups[1].components[1].hooks.map(shortName)).toEqual(['attn.hook_z', 'attn.hook_pattern']);
    expect(groups[1].components[1].hooks.map(treeLabel)).toEqual(['attn.z', 'attn.pattern']);
    expect(treeLabel(HOOKS[0])).toBe('embed');
    expect(groups[1].count).toBe(4);
  });

  it('filters by a case-insensitive substring of the name', () => {
    const groups = groupHooks(HOOKS, 'HOOK_Z');
    expect(groups).toHaveLength(1);
    expect(groups[0].components[0].hooks[0].name).toBe('blocks.0.attn.hook_z');
    expect(groupHooks(HOOKS, 'nothing')).toEqual([]);
  });

  it('formats shapes', () => {
    expect(formatShape([1, 3, 4])).toBe('[1, 3, 4]');
  });
});

describe('CacheExplorer widget', () => {
  it('lists every hook with shape and statistics, grouped', () => {
    const el = document.createElement('div');
    render({ model: model(), el });
    expect([...el.querySelectorAll('.lenslab-group > summary')].map((s) => s.textContent)).toEqual(['Embeddings 1', 'Layer 0 4', 'Final 1']);
    const rows = [...el.querySelectorAll('.lenslab-hook[data-name]')];
    expect(rows).toHaveLength(6);
    const resid = rows[1];
    expect([...resid.children].map((c) => c.textContent)).toEqual(['resid_pre', '1\u00d73\u00d74', '0.5', '1.25', '10']);
    expect(resid.getAttribute('aria-selected')).toBe('true');
    expect(el.querySelector('.lenslab-hook-title')!.textContent).toBe('blocks.0.hook_resid_pre');
    expect(el.querySelector('.lenslab-meta')!.textContent).toBe('6 hooks');
  });

  it('the tree owns only groups and items: each group heading is a tree item that says whether it is open', () => {
    const el = document.createElement('div');
    render({ model: model(), el });
    const tree = el.querySelector('[role="tree"]')!;
    const owned = [...tree.children].filter((c) => c.getAttribute('aria-hidden') !== 'true');
    expect(owned.map((c) => c.getAttribute('role'))).toEqual(['group', 'group', 'group']);
    const details = owned[1] as HTMLDetailsElement;
    expect(details.getAttribute('aria-label')).toBe('Layer 0');
    const heading = details.querySelector(':scope > summary')!;
    expect(heading.getAttribute('role')).toBe('treeitem');
    expect(heading.getAttribute('aria-expanded')).toBe('true');
    details.open = false;
    details.dispatchEvent(new Event('toggle'));
    expect(heading.getAttribute('aria-expanded')).toBe('false');
  });

  it('clicking a hook asks Python for it', () => {
    const el = document.createElement('div');
    const m = model();
    render({ model: m, el });
    el.querySelector<HTMLButtonElement>('[data-name="blocks.0.attn.hook_z"]')!.click();
    expect(m.get('selected')).toBe('blocks.0.attn.hook_z');
    expect(m.saved).toBe(1);
    expect(el.querySelector('[data-name="blocks.0.attn.hook_z"]')!.getAttribute('aria-selected')).toBe('true');
  });

  it('filters the tree as the user types', () => {
    const el = document.createElement('div');
    render({ model: model(), el });
    const filter = el.querySelector<HTMLInputElement>('.lenslab-filter')!;
    filter.value = 'mlp';
    filter.dispatchEvent(new Event('input'));
    expect([...el.querySelectorAll('.lenslab-hook[data-name]')].map((r) => r.getAttribute('data-name'))).toEqual(['blocks.0.hook_mlp_out']);
  });

  it('shows a slice heatmap with token labels and hover values', () => {
    const el = document.createElement('div');
    document.body.append(el);
    render({ model: model(), el });
    expect([...el.querySelectorAll('.lenslab-slice .lenslab-row-label')].map((e) => e.textContent)).toEqual(['The', ' cat', ' sat']);
    const canvas = el.querySelector<HTMLCanvasElement>('.lenslab-slice canvas.lenslab-heatmap-canvas')!;
    const w = Number.parseFloat(canvas.style.width) / 4;
    const h = Number.parseFloat(canvas.style.height) / 3;
    canvas.dispatchEvent(mouse('mousemove', 1.5 * w, 1.5 * h));
    expect(el.querySelector('.lenslab-cache-detail .lenslab-readout')!.textContent).toBe('position 1 \u201c cat\u201d \u00b7 d_model 1: -2');
  });

  it('offers batch and position controls and sends changes to Python', () => {
    const el = document.createElement('div');
    const m = model();
    render({ model: m, el });
    const pos = el.querySelector<HTMLSelectElement>('.lenslab-control-pos')!;
    expect([...pos.options].map((o) => o.textContent)).toEqual(['all', '0 The', '1  cat', '2  sat']);
    expect(el.querySelector('.lenslab-control-batch')).not.toBeNull();
    expect(el.querySelector('.lenslab-control-head')).toBeNull();
    pos.value = '2';
    pos.dispatchEvent(new Event('change'));
    expect(m.get('pos')).toBe(2);
  });

  it('draws a line plot for a single position', async () => {
    const el = document.createElement('div');
    const m = model();
    render({ model: m, el });
    m.update({ view: 'line', data: f32View([1, 2, 3, 2]), shape: [4], pos: 1, col_labels: [], revision: 2 });
    await flush();
    const line = el.querySelector('.lenslab-line')!;
    expect(line.getAttribute('points')!.split(' ')).toHaveLength(4);
  });

  it('keyboard: the slice heatmap is one Tab stop; a focused cell shows and is named by its hover text', () => {
    const el = document.createElement('div');
    document.body.append(el);
    render({ model: model(), el });
    const tip = el.querySelector<HTMLElement>('.lenslab-tooltip')!;
    const canvas = el.querySelector<HTMLCanvasElement>('.lenslab-slice canvas.lenslab-heatmap-canvas')!;
    const w = Number.parseFloat(canvas.style.width) / 4;
    const h = Number.parseFloat(canvas.style.height) / 3;
    canvas.dispatchEvent(mouse('mousemove', 1.5 * w, 1.5 * h));
    const hovered = tip.textContent;
    canvas.dispatchEvent(mouse('mouseleave'));
    const grid = el.querySelector<HTMLElement>('.lenslab-slice [role="grid"]')!;
    expect(grid.getAttribute('aria-label')).toBe('activation slice');
    grid.querySelector<HTMLElement>('[tabindex="0"]')!.focus();
    key(document.activeElement!, 'ArrowDown');
    key(document.activeElement!, 'ArrowRight');
    expect(tip.textContent).toBe(hovered);
    expect(document.activeElement!.getAttribute('aria-label')).toBe('position 1 \u201c cat\u201d, d_model 1, value -2');
    expect(el.querySelector('.lenslab-cache-detail .lenslab-readout')!.textContent).toBe('position 1 \u201c cat\u201d \u00b7 d_model 1: -2');
    el.remove();
  });

  it('keyboard: the line plot is one Tab stop; Left/Right/Home/End step through the samples, focus shows each value', async () => {
    const el = document.createElement('div');
    document.body.append(el);
    const m = model();
    render({ model: m, el });
    m.update({ view: 'line', data: f32View([1, 2, 3, 2]), shape: [4], pos: 1, col_labels: [], col_axis: 'd_model', revision: 2 });
    await flush();
    const list = el.querySelector<HTMLElement>('.lenslab-lineplot [role="listbox"]')!;
    const stops = list.querySelectorAll<HTMLElement>('[tabindex="0"]');
    expect(stops).toHaveLength(1);
    stops[0].focus();
    const tip = el.querySelector<HTMLElement>('.lenslab-tooltip')!;
    const sample = () => document.activeElement as HTMLElement;
    expect(sample().getAttribute('aria-label')).toBe('d_model 0, value 1');
    expect(tip.textContent).toBe('d_model 0value1');
    key(sample(), 'ArrowRight');
    key(sample(), 'ArrowRight');
    expect([sample().getAttribute('role'), sample().getAttribute('aria-posinset'), sample().getAttribute('aria-setsize')]).toEqual(['option', '3', '4']);
    expect(tip.textContent).toBe('d_model 2value3');
    key(sample(), 'End');
    expect(sample().getAttribute('aria-label')).toBe('d_model 3, value 2');
    key(sample(), 'Home');
    expect(el.querySelector('.lenslab-cache-detail .lenslab-readout')!.textContent).toBe('d_model 0: 1');
    // The pointer over sample 2 shows the same text as focus on it.
    const svg = el.querySelector<SVGElement>('.lenslab-lineplot-svg')!;
    (document.activeElement as HTMLElement).blur();
    const [x2] = [...el.querySelector('.lenslab-line')!.getAttribute('points')!.split(' ')][2].split(',').map(Number);
    svg.dispatchEvent(mouse('mousemove', x2, 10));
    expect(tip.textContent).toBe('d_model 2value3');
    el.remove();
  });

  it('opens attention patterns in the attention view with L{layer}H{head} names', async () => {
    const el = document.createElement('div');
    const m = model();
    render({ model: m, el });
    const pattern = [1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5, 1, 0, 0, 1, 0, 0, 1, 0, 0];
    m.update({ selected: 'blocks.0.attn.hook_pattern', view: 'pattern', data: f32View(pattern), shape: [2, 3, 3], controls: { batch: 2, head: 0, pos: 0 }, revision: 2 });
    await flush();
    expect([...el.querySelectorAll('.lenslab-thumb-name')].map((t) => t.textContent)).toEqual(['L0H0', 'L0H1']);
    expect([...el.querySelectorAll('.lenslab-thumb')].map((t) => t.getAttribute('aria-label'))).toEqual(['L0H0, Layer 0 head 0', 'L0H1, Layer 0 head 1']);
    const strip = el.querySelectorAll<HTMLElement>('.lenslab-token');
    strip[2].dispatchEvent(new MouseEvent('mouseenter'));
    expect(el.querySelector('.lenslab-attention-view .lenslab-readout')!.textContent).toContain('attends to \u201c sat\u201d (2) 0.5');
    expect(el.querySelector('[data-name="blocks.0.attn.hook_pattern"]')!.getAttribute('aria-selected')).toBe('true');
  });

  it('shows the kernel message for an empty slice', async () => {
    const el = document.createElement('div');
    const m = model();
    render({ model: m, el });
    m.update({ view: 'empty', data: null, shape: [0], message: 'x is a scalar: 1.0', revision: 2 });
    await flush();
    expect(el.querySelector('.lenslab-slice')!.textContent).toBe('x is a scalar: 1.0');
  });
});

describe('cache explorer: what the tree shows is what the filter finds', () => {
  const names = (groups: ReturnType<typeof groupHooks>): string[] => groups.flatMap((g) => g.components.flatMap((c) => c.hooks.map((hk) => hk.name)));

  it('finds hooks by their displayed label, with or without the layer', () => {
    expect(names(groupHooks(HOOKS, 'attn.z'))).toEqual(['blocks.0.attn.hook_z']);
    expect(names(groupHooks(HOOKS, 'attn.pattern'))).toEqual(['blocks.0.attn.hook_pattern']);
    expect(names(groupHooks(HOOKS, 'blocks.0.attn.z'))).toEqual(['blocks.0.attn.hook_z']);
    expect(names(groupHooks(HOOKS, 'L0 attn.z'))).toEqual(['blocks.0.attn.hook_z']);
    expect(names(groupHooks(HOOKS, 'layer 0 mlp'))).toEqual(['blocks.0.hook_mlp_out']);
    expect(names(groupHooks(HOOKS, 'hook_z'))).toEqual(['blocks.0.attn.hook_z']);
    expect(names(groupHooks(HOOKS, 'attn.q'))).toEqual([]);
  });

  it('every label the tree shows finds its own hook', () => {
    for (const hk of HOOKS) expect(matchesFilter(hk, treeLabel(hk))).toBe(true);
  });
});

describe('cache explorer: columns, selection, masks', () => {
  it('sizes the shape column to the longest shape and keeps shape and numbers in separate cells', () => {
    const el = document.createElement('div');
    const long = hook('blocks.0.attn.hook_attn_scores', 'Layer 0', 'attn', [8, 8, 101, 101]);
    render({ model: model({ hooks: [...HOOKS, long] }), el });
    const tree = el.querySelector<HTMLElement>('.lenslab-tree')!;
    expect(tree.style.getPropertyValue('--ll-shape-w')).toBe(`${shapeText(long.shape).length + 1}ch`);
    const cells = [...el.querySelector('[data-name="blocks.0.attn.hook_attn_scores"]')!.children].map((c) => c.textContent);
    expect(cells).toEqual(['attn.attn_scores', '8\u00d78\u00d7101\u00d7101', '0.5', '1.25', '10']);
  });

  it('reports masked attention scores plainly and only real NaN/inf as a warning', () => {
    const el = document.createElement('div');
    const scores = { ...hook('blocks.0.attn.hook_attn_scores', 'Layer 0', 'attn', [1, 2, 3, 3]), masked: 6 };
    render({ model: model({ hooks: [...HOOKS, scores], selected: scores.name }), el });
    expect(el.querySelector('.lenslab-stats')!.textContent).toContain('6 masked');
    expect(el.querySelector('.lenslab-stats .lenslab-warn')).toBeNull();
    const el2 = document.createElement('div');
    render({ model: model({ hooks: [...HOOKS, { ...scores, nonfinite: 2 }], selected: scores.name }), el: el2 });
    expect(el2.querySelector('.lenslab-stats .lenslab-warn')!.textContent).toContain('2 non-finite');
  });

  it('scrolls the tree (not the page) to the selected hook', async () => {
    const el = document.createElement('div');
    document.body.append(el);
    const many = Array.from({ length: 60 }, (_, i) => hook(`blocks.${i}.hook_resid_post`, `Layer ${i}`, 'resid', [1, 3, 4]));
    const tree = (): HTMLElement => el.querySelector<HTMLElement>('.lenslab-tree')!;
    const rect = (top: number, height: number) => ({ top, bottom: top + height, height, left: 0, right: 100, width: 100, x: 0, y: top, toJSON: () => ({}) });
    const proto = HTMLElement.prototype as unknown as { getBoundingClientRect: () => DOMRect };
    const orig = proto.getBoundingClientRect;
    proto.getBoundingClientRect = function (this: HTMLElement) {
      if (this.classList.contains('lenslab-tree')) return rect(0, 400) as DOMRect;
      if (this.classList.contains('lenslab-selected')) return rect(2000 - tree().scrollTop, 20) as DOMRect;
      return rect(0, 0) as DOMRect;
    };
    try {
      render({ model: model({ hooks: many, selected: 'blocks.50.hook_resid_post' }), el });
      await flush();
      expect(tree().scrollTop).toBeGreaterThan(1500);
      expect(window.scrollY).toBe(0);
    } finally {
      proto.getBoundingClientRect = orig;
      el.remove();
    }
  });
});

