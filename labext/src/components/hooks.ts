// The selected model's hook points as a tree (layer, then component) with symbolic shapes,
// a filter box, copy-to-clipboard, and the selected hook's description.
import { shapeText } from '../hooktree';
import type { SidebarModel } from '../model';
import type { HookInfo } from '../protocol';
import { button, el, renderIfChanged, section } from './dom';

/** `blocks.3.attn.hook_z` -> `attn.hook_z` (the block is the tree's group). */
export function shortHookName(hook: HookInfo): string {
  return hook.layer === null ? hook.name : hook.name.replace(/^blocks\.\d+\./, '');
}

/** ` (3 off)` when some hook points never fire with the model's settings, else ``. */
function offCount(hooks: readonly HookInfo[]): string {
  const off = hooks.filter((h) => h.silent).length;
  return off ? ` (${off} off)` : '';
}

export class HooksView {
  readonly node: HTMLElement;

  constructor(
    private readonly _model: SidebarModel,
    private readonly _copy: (text: string) => void
  ) {
    this._filter = el('input', {
      type: 'search',
      class: 'lenslab-sb-filter',
      placeholder: 'Filter hooks (e.g. attn z, resid, pattern)',
      'aria-label': 'Filter hook points'
    });
    this._filter.addEventListener('input', () => this._model.setFilter(this._filter.value));
    this._count = el('div', { class: 'lenslab-sb-hook-count' });
    this._tree = el('div', { class: 'lenslab-sb-tree', role: 'tree', 'aria-label': 'Hook points' });
    this._detail = el('div', { class: 'lenslab-sb-hook-detail', 'aria-live': 'polite' });
    this.node = section('Hook points', 'lenslab-sb-hooks-section', this._filter, this._count, this._tree, this._detail);
  }

  update(): void {
    const m = this._model;
    if (this._filter.value !== m.filter && document.activeElement !== this._filter) this._filter.value = m.filter;
    const tree = m.hookTree;
    const shown = tree.reduce((n, g) => n + g.count, 0);
    const model = m.selectedModel;
    this._count.textContent = !model
      ? ''
      : m.hooksLoading && !m.hooks.length
        ? `Loading ${model.name}'s hook points…`
        : m.filter
          ? `${shown} of ${m.hooks.length} hook points match`
          : `${m.hooks.length} hook points in ${model.name}${offCount(m.hooks)}`;
    const selected = m.selectedHook?.name ?? null;
    const offKey = m.hooks.map((h) => (h.silent ? 1 : 0)).join('');
    renderIfChanged(this._tree, JSON.stringify([model?.name, m.hooks.length, offKey, m.filter, selected, [...this._open]]), () =>
      tree.map((group) => {
        // role=group: a tree's children must be groups or items (axe's aria-required-children).
        const details = el('details', { class: 'lenslab-sb-group', 'data-group': group.key, role: 'group', 'aria-label': group.label });
        details.open = m.filter !== '' || this._open.has(group.key);
        // The group's heading is the tree item that expands it (a tree may own only items and groups).
        const summary = el('summary', { text: `${group.label} (${group.count})`, role: 'treeitem', 'aria-expanded': String(details.open) });
        details.addEventListener('toggle', () => {
          summary.setAttribute('aria-expanded', String(details.open));
          if (m.filter) return;
          if (details.open) this._open.add(group.key);
          else this._open.delete(group.key);
        });
        details.append(summary);
        for (const component of group.components) {
          details.append(el('div', { class: 'lenslab-sb-component', text: component.label }));
          for (const hook of component.hooks) details.append(this._row(hook, hook.name === selected));
        }
        return details;
      })
    );
    const hook = m.selectedHook;
    this._detail.hidden = !hook;
    renderIfChanged(this._detail, JSON.stringify([hook, m.hookSizes]), () =>
      hook
        ? [
            el('code', { class: 'lenslab-sb-detail-name', text: hook.name }),
            el('div', { class: 'lenslab-sb-detail-shape', text: `shape ${shapeText(hook.shape, m.hookSizes)}` }),
            el('p', { class: 'lenslab-sb-detail-text', text: hook.description || 'No description in the hook table.' }),
            ...(hook.silent ? [el('p', { class: 'lenslab-sb-detail-silent', text: hook.silent })] : [])
          ]
        : []
    );
  }

  private _row(hook: HookInfo, selected: boolean): HTMLElement {
    const copy = button('Copy', () => this._copy(hook.name), {
      class: 'lenslab-sb-button lenslab-sb-copy',
      title: `Copy "${hook.name}"`,
      'aria-label': `Copy ${hook.name}`
    });
    // A hook that never fires with the model's settings stays listed (it is a valid name, as
    // upstream) but dimmed, with the reason and the switch in its tooltip.
    const name = el('span', { class: 'lenslab-sb-hook-name', text: shortHookName(hook) });
    const off = hook.silent ? [el('span', { class: 'lenslab-sb-off', text: 'off' })] : [];
    const row = el(
      'div',
      {
        class: `lenslab-sb-hook${selected ? ' lenslab-sb-selected' : ''}${hook.silent ? ' lenslab-sb-silent' : ''}`,
        role: 'treeitem',
        'aria-selected': selected ? 'true' : 'false',
        tabindex: 0,
        'data-hook': hook.name,
        title: hook.silent ? `${hook.description}\n${hook.silent}` : hook.description
      },
      el('div', { class: 'lenslab-sb-hook-main' }, name, ...off, copy),
      el('div', { class: 'lenslab-sb-shape', text: shapeText(hook.shape) })
    );
    row.addEventListener('click', () => this._model.selectHook(hook.name));
    row.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this._model.selectHook(hook.name);
    });
    return row;
  }

  private _filter: HTMLInputElement;
  private _count: HTMLElement;
  private _tree: HTMLElement;
  private _detail: HTMLElement;
  private _open = new Set<string>(['embed', 'block-0']);
}
