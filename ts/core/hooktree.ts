// The hook tree of both front ends (the sidebar's hook points, the cache explorer's cached
// activations): hooks grouped by where they sit (embeddings, layer 0..n, final, other), then by
// component, with one set of labels. The kernel side names groups the same way
// (py_src/lenslab/widgets/cache_explorer.py: hook_group).

/** Where a hook sits: its layer (null outside the blocks) and its component ("attn", "embed", ...). */
export interface HookPlace {
  layer: number | null;
  component: string;
}

export interface HookComponent<H> {
  component: string;
  label: string;
  hooks: H[];
}

export interface HookGroup<H> {
  key: string;
  label: string;
  components: HookComponent<H>[];
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

/** The group of a hook: key, label and its place in the tree. */
export function hookGroupOf(place: HookPlace): { key: string; label: string; order: number } {
  if (place.layer !== null) return { key: `block-${place.layer}`, label: `Layer ${place.layer}`, order: 1 + place.layer };
  if (place.component === 'embed') return { key: 'embed', label: 'Embeddings', order: 0 };
  if (place.component === 'final') return { key: 'final', label: 'Final', order: 1e6 };
  return { key: 'other', label: 'Other', order: 1e6 + 1 };
}

/** The layer in a hook name (`blocks.3.attn.hook_z` -> 3), null outside the blocks. */
export function layerOfName(name: string): number | null {
  const m = /^blocks\.(\d+)\.[^.]/.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Groups `hooks` by layer (embeddings, layer 0..n, final, other) and then by component (in
 * the order embed, resid, ln, attn, mlp, sae, final, other; unknown components after, as met),
 * keeping those `keep` accepts.
 */
export function buildHookTree<H>(hooks: readonly H[], placeOf: (hook: H) => HookPlace, keep: (hook: H) => boolean = () => true): HookGroup<H>[] {
  const groups = new Map<string, { label: string; order: number; byComponent: Map<string, H[]> }>();
  for (const hook of hooks) {
    if (!keep(hook)) continue;
    const place = placeOf(hook);
    const { key, label, order } = hookGroupOf(place);
    let group = groups.get(key);
    if (!group) {
      group = { label, order, byComponent: new Map() };
      groups.set(key, group);
    }
    const list = group.byComponent.get(place.component) ?? [];
    list.push(hook);
    group.byComponent.set(place.component, list);
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
