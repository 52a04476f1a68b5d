// The sidebar's hook tree, on the shared builder (ts/core/hooktree.ts), and shape text.
import { type HookGroup as CoreHookGroup, buildHookTree as buildTree } from '../../ts/core/hooktree';
import type { HookInfo } from './protocol';

export type HookGroup = CoreHookGroup<HookInfo>;

/**
 * The sidebar's hook tree (ts/core/hooktree.ts), keeping the hooks whose name, description or
 * shape contains every word of `filter`.
 */
export function buildHookTree(hooks: readonly HookInfo[], filter: string): HookGroup[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const matches = (h: HookInfo): boolean => {
    const text = `${h.name} ${h.description} ${h.shape.join(' ')}`.toLowerCase();
    return words.every((w) => text.includes(w));
  };
  return buildTree(hooks, (h) => h, matches);
}

/** `[batch, pos, head_index, d_head]`, with concrete sizes where known: `[batch, pos, head_index=8, d_head=32]`. */
export function shapeText(shape: readonly string[], sizes?: readonly (number | null)[]): string {
  return `[${shape.map((d, i) => (sizes && sizes[i] !== null && sizes[i] !== undefined && `${sizes[i]}` !== d ? `${d}=${sizes[i]}` : d)).join(', ')}]`;
}
