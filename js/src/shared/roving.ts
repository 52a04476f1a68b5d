// Keyboard use of a group of items (head thumbnails, token chips): one Tab stop per group with a
// roving tabindex (the current item 0, the others -1), arrow keys and Home/End to move, focus
// doing what hover does and Enter/Space what a click does (WAI-ARIA Authoring Practices,
// "Managing focus within components"). The one definition; every widget's groups use it.

/**
 * The item index after pressing `key` on item `index` of `count`, or null when the key is not a
 * move. Left/Right step through the items in order (continuing across the end of a wrapped
 * row), Home/End go to the first/last; with `columns` (items per row of a wrapping grid)
 * Up/Down go to the item above/below and stay put at the first/last row.
 */
export function moveIndex(key: string, index: number, count: number, columns?: number): number | null {
  if (count <= 0) return null;
  const i = Math.min(Math.max(0, index), count - 1);
  switch (key) {
    case 'ArrowLeft':
      return Math.max(0, i - 1);
    case 'ArrowRight':
      return Math.min(count - 1, i + 1);
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    case 'ArrowUp':
      if (columns === undefined) return null;
      return i - columns >= 0 ? i - columns : i;
    case 'ArrowDown':
      if (columns === undefined) return null;
      return i + columns < count ? i + columns : i;
    default:
      return null;
  }
}

/** Items per row of a wrapping layout: how many share the first item's top (all of them when unlaid out). */
export function layoutColumns(items: readonly HTMLElement[]): number {
  if (!items.length) return 1;
  const top = items[0].getBoundingClientRect().top;
  let n = 0;
  while (n < items.length && Math.abs(items[n].getBoundingClientRect().top - top) < 1) n++;
  return Math.max(1, n);
}

/** Where a tooltip for a focused item goes: at its lower left corner, anchored to its box. */
export function pointBelow(el: HTMLElement): { clientX: number; clientY: number; anchor: { top: number; bottom: number } } {
  const r = el.getBoundingClientRect();
  return { clientX: r.left, clientY: r.bottom, anchor: { top: r.top, bottom: r.bottom } };
}

export interface RovingOptions {
  /** Up/Down move by rows of a wrapping grid (items per row read from the layout). */
  grid?: boolean;
  /** Focus arrived on item `i` from the keyboard (not from a mouse press): do what hover does. */
  onFocus?: (i: number, el: HTMLElement) => void;
  /** Focus left the group (not to another of its items): do what leaving with the mouse does. */
  onLeave?: () => void;
  /** Enter or Space on item `i`: do what a click does. */
  onActivate?: (i: number) => void;
}

/**
 * Roving tabindex over the items of `container` (listeners are delegated to the container, so
 * `setItems` can swap the items without re-binding). The items keep their mouse handlers.
 */
export class RovingFocus {
  items: HTMLElement[] = [];
  current = 0;
  private mousePress = false;
  private quiet = false;

  constructor(
    readonly container: HTMLElement,
    private readonly opts: RovingOptions = {},
  ) {
    container.addEventListener('keydown', (ev) => this.keydown(ev));
    container.addEventListener('focusin', (ev) => this.focusin(ev));
    container.addEventListener('focusout', (ev) => this.focusout(ev));
    // A click focuses its item too; the mouse handlers already previewed it, so that focus is quiet.
    container.addEventListener('mousedown', () => (this.mousePress = true));
    container.addEventListener('mouseup', () => (this.mousePress = false));
  }

  /**
   * New items (placed as the container's children when `place`); `current` (clamped) is the one
   * Tab reaches. If focus was on an old item it moves, quietly, to the current new one.
   */
  setItems(items: HTMLElement[], current = this.current, place = false): void {
    const refocus = this.hasFocus();
    if (place) this.container.replaceChildren(...items);
    this.items = items;
    this.setCurrent(current);
    if (refocus) {
      this.quiet = true;
      this.items[this.current]?.focus();
      this.quiet = false;
    }
  }

  /** Makes item `i` the group's tab stop without focusing it. */
  setCurrent(i: number): void {
    this.current = this.items.length ? Math.min(Math.max(0, i), this.items.length - 1) : 0;
    this.items.forEach((el, k) => (el.tabIndex = k === this.current ? 0 : -1));
  }

  /** Moves the tab stop to item `i` and focuses it. */
  focus(i: number): void {
    this.setCurrent(i);
    this.items[this.current]?.focus();
  }

  hasFocus(): boolean {
    const active = this.container.ownerDocument.activeElement;
    return active instanceof HTMLElement && this.items.includes(active);
  }

  private indexOf(target: EventTarget | null): number {
    return target instanceof HTMLElement ? this.items.indexOf(target) : -1;
  }

  private keydown(ev: KeyboardEvent): void {
    const i = this.indexOf(ev.target);
    if (i < 0 || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    this.mousePress = false;
    if ((ev.key === 'Enter' || ev.key === ' ') && this.opts.onActivate) {
      ev.preventDefault();
      this.opts.onActivate(i);
      return;
    }
    const next = moveIndex(ev.key, i, this.items.length, this.opts.grid ? layoutColumns(this.items) : undefined);
    if (next === null) return;
    ev.preventDefault();
    this.focus(next);
  }

  private focusin(ev: FocusEvent): void {
    const i = this.indexOf(ev.target);
    if (i < 0) return;
    this.setCurrent(i);
    const fromMouse = this.mousePress;
    this.mousePress = false;
    if (!fromMouse && !this.quiet) this.opts.onFocus?.(i, this.items[i]);
  }

  private focusout(ev: FocusEvent): void {
    if (this.quiet || this.indexOf(ev.target) < 0 || this.indexOf(ev.relatedTarget) >= 0) return;
    this.opts.onLeave?.();
  }
}
