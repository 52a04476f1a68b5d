// Keyboard use of a group of items (head thumbnails, token chips, histogram bars, heatmap cells,
// line-plot samples): one Tab stop per group with a roving tabindex (the current item 0, the
// others -1), arrow keys and Home/End to move, focus doing what hover does and Enter/Space what a
// click does (WAI-ARIA Authoring Practices, "Managing focus within components"). The one
// definition; every widget's groups use it. Keys a group handles go no further, so JupyterLab
// never also acts on them.

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

/**
 * The cell index after pressing `key` on cell `index` of a `rows` x `cols` grid (row-major), or
 * null when the key is not a move (WAI-ARIA grid keys): Left/Right along the row and Up/Down
 * along the column, stopping at the edges; Home/End to the row's first/last cell, or with
 * `toCorner` (Ctrl held) to the grid's first/last cell.
 */
export function moveInGrid(key: string, index: number, rows: number, cols: number, toCorner = false): number | null {
  if (rows <= 0 || cols <= 0) return null;
  const i = Math.min(Math.max(0, index), rows * cols - 1);
  const [row, col] = [Math.floor(i / cols), i % cols];
  switch (key) {
    case 'ArrowLeft':
      return row * cols + Math.max(0, col - 1);
    case 'ArrowRight':
      return row * cols + Math.min(cols - 1, col + 1);
    case 'ArrowUp':
      return Math.max(0, row - 1) * cols + col;
    case 'ArrowDown':
      return Math.min(rows - 1, row + 1) * cols + col;
    case 'Home':
      return toCorner ? 0 : row * cols;
    case 'End':
      return toCorner ? rows * cols - 1 : row * cols + cols - 1;
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
  /** Focus arrived on item `i` from the keyboard (not from a mouse press): do what hover does. */
  onFocus?: (i: number, el: HTMLElement) => void;
  /** Focus left the group (not to another of its items): do what leaving with the mouse does. */
  onLeave?: () => void;
  /** Enter or Space on item `i`: do what a click does. */
  onActivate?: (i: number) => void;
}

/**
 * What every roving group does with keys and focus; a subclass says which element stands for
 * which item and where a key moves. Listeners are delegated to the container, so items can be
 * swapped without re-binding; items keep their own mouse handlers.
 */
abstract class RovingGroup {
  /** The item Tab reaches (and that has focus while the group has it). */
  current = 0;
  private mousePress = false;
  /** Set while focus moves for a redraw rather than for the user: no onFocus/onLeave. */
  protected quiet = false;

  constructor(
    readonly container: HTMLElement,
    protected readonly opts: RovingOptions,
  ) {
    container.addEventListener('keydown', (ev) => this.keydown(ev));
    container.addEventListener('focusin', (ev) => this.focusin(ev));
    container.addEventListener('focusout', (ev) => this.focusout(ev));
    // A click focuses its item too; the mouse handlers already previewed it, so that focus is quiet.
    container.addEventListener('mousedown', () => (this.mousePress = true));
    container.addEventListener('mouseup', () => (this.mousePress = false));
  }

  /** Makes item `i` the group's tab stop without focusing it. */
  abstract setCurrent(i: number): void;
  /** Moves the tab stop to item `i` and focuses it. */
  abstract focus(i: number): void;
  /** Which item `target` is, or -1 when it is none of this group's. */
  protected abstract indexOf(target: EventTarget | null): number;
  /** The item `ev` moves item `i` to, or null when the key is not a move. */
  protected abstract nextIndex(ev: KeyboardEvent, i: number): number | null;

  hasFocus(): boolean {
    return this.indexOf(this.container.ownerDocument.activeElement) >= 0;
  }

  private keydown(ev: KeyboardEvent): void {
    const i = this.indexOf(ev.target);
    if (i < 0 || ev.altKey || ev.metaKey) return;
    this.mousePress = false;
    if ((ev.key === 'Enter' || ev.key === ' ') && !ev.ctrlKey && this.opts.onActivate) {
      this.handled(ev);
      this.opts.onActivate(i);
      return;
    }
    const next = this.nextIndex(ev, i);
    if (next === null) return;
    this.handled(ev);
    // At an edge the key is still ours (no page scroll) but nothing moves, so nothing is re-announced.
    if (next !== i) this.focus(next);
  }

  /** A key this group acted on: no browser default (scrolling) and no JupyterLab shortcut. */
  private handled(ev: KeyboardEvent): void {
    ev.preventDefault();
    ev.stopPropagation();
  }

  private focusin(ev: FocusEvent): void {
    const i = this.indexOf(ev.target);
    if (i < 0) return;
    this.setCurrent(i);
    const fromMouse = this.mousePress;
    this.mousePress = false;
    if (!fromMouse && !this.quiet) this.opts.onFocus?.(i, ev.target as HTMLElement);
  }

  private focusout(ev: FocusEvent): void {
    if (this.quiet || this.indexOf(ev.target) < 0 || this.indexOf(ev.relatedTarget) >= 0) return;
    this.opts.onLeave?.();
  }
}

export interface RovingFocusOptions extends RovingOptions {
  /** Up/Down move by rows of a wrapping grid (items per row read from the layout). */
  grid?: boolean;
}

/** Roving tabindex over a list of elements that are all in the page (thumbnails, chips, bars). */
export class RovingFocus extends RovingGroup {
  items: HTMLElement[] = [];
  private readonly grid: boolean;

  constructor(container: HTMLElement, opts: RovingFocusOptions = {}) {
    super(container, opts);
    this.grid = opts.grid ?? false;
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

  setCurrent(i: number): void {
    this.current = this.items.length ? Math.min(Math.max(0, i), this.items.length - 1) : 0;
    this.items.forEach((el, k) => (el.tabIndex = k === this.current ? 0 : -1));
  }

  focus(i: number): void {
    this.setCurrent(i);
    this.items[this.current]?.focus();
  }

  protected indexOf(target: EventTarget | null): number {
    return target instanceof HTMLElement ? this.items.indexOf(target) : -1;
  }

  protected nextIndex(ev: KeyboardEvent, i: number): number | null {
    if (ev.ctrlKey) return null;
    return moveIndex(ev.key, i, this.items.length, this.grid ? layoutColumns(this.items) : undefined);
  }
}

export interface RovingCellOptions extends RovingOptions {
  /**
   * Makes `el` stand for item `i`: its role, name and place over what it stands for (called on
   * a fresh element for each move, and again on the same element when the items are redrawn).
   */
  drawItem: (el: HTMLElement, i: number) => void;
}

/**
 * Roving focus over items that are drawn, not elements (heatmap cells on a canvas, line-plot
 * samples): too many for one element each, so only the current item has one. Each keyboard move
 * makes a fresh element and focuses it, so screen readers announce the new item as they do a
 * move between real elements; anything else (new data, a click elsewhere) redraws the element in
 * place, so focus on it, or on its way to it, is never lost. `columns` items per row: arrows
 * move in 2-D.
 */
export class RovingCell extends RovingGroup {
  count = 0;
  columns = 1;
  /** The element standing for the current item (null when there are no items). */
  element: HTMLElement | null = null;
  private readonly made = new WeakMap<EventTarget, number>();
  private readonly drawItem: (el: HTMLElement, i: number) => void;

  constructor(container: HTMLElement, opts: RovingCellOptions) {
    super(container, opts);
    this.drawItem = opts.drawItem;
  }

  /** New items: `count` of them, `columns` per row; the current one (clamped) is redrawn, its place and name may have changed. */
  setCount(count: number, columns: number, current = this.current): void {
    this.count = Math.max(0, count);
    this.columns = Math.max(1, columns);
    this.current = this.clamp(current);
    this.redraw();
  }

  setCurrent(i: number): void {
    const next = this.clamp(i);
    if (next === this.current && this.element) return;
    this.current = next;
    this.redraw();
  }

  /** Moves to item `i` on a fresh element, focused before the old one goes (focus never leaves the group). */
  focus(i: number): void {
    this.current = this.clamp(i);
    if (!this.count) return;
    const old = this.element;
    const el = this.container.ownerDocument.createElement('div');
    this.element = el;
    this.draw(el);
    this.container.append(el);
    el.focus();
    old?.remove();
  }

  private clamp(i: number): number {
    return this.count ? Math.min(Math.max(0, i), this.count - 1) : 0;
  }

  /** Draws the current item on the element there is (made when there is none, removed when there are no items). */
  private redraw(): void {
    if (!this.count) {
      this.element?.remove();
      this.element = null;
      return;
    }
    if (!this.element) {
      this.element = this.container.ownerDocument.createElement('div');
      this.container.append(this.element);
    }
    this.draw(this.element);
  }

  private draw(el: HTMLElement): void {
    this.drawItem(el, this.current);
    el.tabIndex = 0;
    this.made.set(el, this.current);
  }

  protected indexOf(target: EventTarget | null): number {
    return target ? (this.made.get(target) ?? -1) : -1;
  }

  protected nextIndex(ev: KeyboardEvent, i: number): number | null {
    const rows = Math.ceil(this.count / this.columns);
    if (ev.ctrlKey && ev.key !== 'Home' && ev.key !== 'End') return null;
    return moveInGrid(ev.key, i, rows, this.columns, ev.ctrlKey);
  }
}
