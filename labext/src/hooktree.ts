// The hook tree: hooks grouped by layer (embeddings, blocks, final) and component, filtered.
import type { HookInfo } from './protocol';

export interface HookGroup {
  key: string;
  label: string;
  components: { component: string; label: string; hooks: HookInfo[] }[];
  count: number;
}

// 'sae': hook points of an SAE that sae-lens spliced in under one of the model's hooks.
const COMPONENT_ORDER = ['embed', 'resid', 'ln', 'attn', 'mlp', 'sae', 'final', 'other'];
const COMPONENT_LABELS: Record<string, string> = {
  embed: 'embeddings',
  resid: 'residual stream',
  ln: 'layer norm',
  attn: 'attention',
  mlp: 'MLP',
  sae: 'SAE (sae-lens)',
  final: 'final layer norm',
  other: 'other'
};
/**
 * Groups hooks by layer (embeddings, block 0..n, final, other) and then by component,
 * keeping those whose name or description contains every word of `filter`.
 */
export function buildHookTree(hooks: readonly HookInfo[], filter: string): HookGroup[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const matches = (h: HookInfo): boolean => {
    const text = `${h.name} ${h.description} ${h.shape.join(' ')}`.toLowerCase();
    return words.every((w) => text.includes(w));
  };
  const groups = new Map<string, { label: string; order: number; byComponent: Map<string, HookInfo[]> }>();
  for (const hook of hooks) {
    if (!matches(hook)) continue;
    const [key, label, order] =
      hook.layer !== null
        ? [`block-${hook.layer}`, `Block ${hook.layer}`, 1 + hook.layer]
        : hook.component === 'embed'
          ? ['embed', 'Embeddings', 0]
          : hook.component === 'final'
            ? ['final', 'Final', 1e6]
            : ['other', 'Other', 1e6 + 1];
    let group = groups.get(key);
    if (!group) {
      group = { label, order, byComponent: new Map() };
      groups.set(key, group);
    }
    const list = group.byComponent.get(hook.component) ?? [];
    list.push(hook);
    group.byComponent.set(hook.component, list);
  }
  const rank = (c: string): number => {
    const i = COMPONENT_ORDER.indexOf(c);
    return i < 0 ? COMPONENT_ORDER.length : i;
  };
  return [...groups.entries()]
    .sort((a, b) => a[1].order - b[1].order)
    .map(([key, g]) => {
      const components = [...g.byComponent.entries()]
        .sort((a, b) => rank(a[0]) - rank(b[0]))
        .map(([component, list]) => ({ component, label: COMPONENT_LABELS[component] ?? component, hooks: list }));
      return { key, label: g.label, components, count: components.reduce((n, c) => n + c.hooks.length, 0) };
    });
}

/** `[batch, pos, head_index, d_head]`, with concrete sizes where known: `[batch, pos, head_index=8, d_head=32]`. */
export function shapeText(shape: readonly string[], sizes?: readonly (number | null)[]): string {
  return `[${shape.map((d, i) => (sizes && sizes[i] !== null && sizes[i] !== undefined && `${sizes[i]}` !== d ? `${d}=${sizes[i]}` : d)).join(', ')}]`;
}
