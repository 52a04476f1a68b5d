import { afterEach, describe, expect, it } from 'vitest';
import { h } from './dom';
import { RovingCell, RovingFocus, layoutColumns, moveInGrid, moveIndex } from './roving';
import { fakeRows, key } from './test_utils';

describe('moveIndex', () => {
  it('steps Left/Right through the items, Home/End to the ends, clamped', () => {
    expect(moveIndex('ArrowRight', 0, 5)).toBe(1);
    expect(moveIndex('ArrowRight', 4, 5)).toBe(4);
    expect(moveIndex('ArrowLeft', 0, 5)).toBe(0);
    expect(moveIndex('ArrowLeft', 3, 5)).toBe(2);
    expect(moveIndex('Home', 3, 5)).toBe(0);
    expect(moveIndex('End', 1, 5)).toBe(4);
    expect(moveIndex('ArrowRight', 0, 0)).toBeNull();
  });

  it('moves Up/Down by rows only in a grid, staying put at the first and last rows', () => {
    expect(moveIndex('ArrowDown', 1, 5)).toBeNull(); // a chip row: Up/Down are not ours
    expect(moveIndex('ArrowDown', 1, 7, 3)).toBe(4);
    expect(moveIndex('ArrowDown', 4, 7, 3)).toBe(4); // no item under it in the short last row
    expect(moveIndex('ArrowDown', 3, 7, 3)).toBe(6);
    expect(moveIndex('ArrowUp', 5, 7, 3)).toBe(2);
    expect(moveIndex('ArrowUp', 2, 7, 3)).toBe(2);
    expect(moveIndex('Enter', 2, 7, 3)).toBeNull();
  });

  it('moves in 2-D in a fixed grid: arrows stop at the edges, Home/End stay in the row, Ctrl+Home/End go to the corners', () => {
    // 3 rows x 4 columns, row-major: index 5 is row 1, column 1.
    expect(moveInGrid('ArrowRight', 5, 3, 4)).toBe(6);
    expect(moveInGrid('ArrowRight', 7, 3, 4)).toBe(7); // the row's last cell: no wrap onto the next row
    expect(moveInGrid('ArrowLeft', 4, 3, 4)).toBe(4);
    expect(moveInGrid('ArrowDown', 5, 3, 4)).toBe(9);
    expect(moveInGrid('ArrowDown', 9, 3, 4)).toBe(9);
    expect(moveInGrid('ArrowUp', 5, 3, 4)).toBe(1);
    expect(moveInGrid('ArrowUp', 1, 3, 4)).toBe(1);
    expect(moveInGrid('Home', 6, 3, 4)).toBe(4);
    expect(moveInGrid('End', 5, 3, 4)).toBe(7);
    expect(moveInGrid('Home', 6, 3, 4, true)).toBe(0);
    expect(moveInGrid('End', 5, 3, 4, true)).toBe(11);
    expect(moveInGrid('Enter', 5, 3, 4)).toBeNull();
    expect(moveInGrid('ArrowRight', 0, 0, 4)).toBeNull();
  });

  it('reads items per row from the layout', () => {
    const items = Array.from({ length: 7 }, () => h('span'));
    expect(layoutColumns(items)).toBe(7); // no layout: one row
    fakeRows(items, 3);
    expect(layoutColumns(items)).toBe(3);
    expect(layoutColumns([])).toBe(1);
  });
});

describe('RovingFocus', () => {
  afterEach(() => document.body.replaceChildren());

  function group(n: number, grid = false) {
    const items = Array.from({ length: n }, (_, i) => h('span', { text: `item ${i}` }));
    const container = h('div', {}, ...items);
    document.body.append(container);
    const log: string[] = [];
    const roving = new RovingFocus(container, {
      grid,
      onFocus: (i) => log.push(`focus ${i}`),
      onLeave: () => log.push('leave'),
      onActivate: (i) => log.push(`activate ${i}`),
    });
    roving.setItems(items, 1);
    return { items, container, roving, log };
  }

  it('makes the group one Tab stop: the current item tabindex 0, the others -1', () => {
    const { items } = group(3);
    expect(items.map((el) => el.tabIndex)).toEqual([-1, 0, -1]);
  });

  it('arrows move focus and the tab stop; focus reports the item; Enter and Space activate', () => {
    const { items, log } = group(4);
    items[1].focus();
    expect(log).toEqual(['focus 1']);
    expect(key(items[1], 'ArrowRight').defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(items[2]);
    expect(items.map((el) => el.tabIndex)).toEqual([-1, -1, 0, -1]);
    key(items[2], 'End');
    key(items[3], 'Enter');
    key(items[3], 'Home');
    key(items[0], ' ');
    expect(document.activeElement).toBe(items[0]);
    expect(log).toEqual(['focus 1', 'focus 2', 'focus 3', 'activate 3', 'focus 0', 'activate 0']);
    expect(key(items[0], 'ArrowDown').defaultPrevented).toBe(false); // not a grid
    expect(key(items[0], 'Tab').defaultPrevented).toBe(false);
  });

  it('reports leaving only when focus goes outside the group', () => {
    const { items, log } = group(2);
    const outside = h('button', { text: 'out' });
    document.body.append(outside);
    items[0].focus();
    key(items[0], 'ArrowRight');
    outside.focus();
    expect(log).toEqual(['focus 0', 'focus 1', 'leave']);
    expect(items.map((el) => el.tabIndex)).toEqual([-1, 0]); // Tab comes back to the last item
  });

  it('moves by rows in a grid', () => {
    const { items } = group(7, true);
    fakeRows(items, 3);
    items[1].focus();
    key(items[1], 'ArrowDown');
    expect(document.activeElement).toBe(items[4]);
    key(items[4], 'ArrowDown');
    expect(document.activeElement).toBe(items[4]);
    key(items[4], 'ArrowUp');
    expect(document.activeElement).toBe(items[1]);
  });

  it('a mouse press that focuses an item moves the tab stop but does not report focus', () => {
    const { items, log } = group(3);
    items[2].dispatchEvent(new MouseEvent('mousedown', { bubbles: true }));
    items[2].focus();
    items[2].dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
    expect(log).toEqual([]);
    expect(items[2].tabIndex).toBe(0);
  });

  it('keys it acts on go no further (no JupyterLab shortcut); other keys pass', () => {
    const { items } = group(3);
    const above: string[] = [];
    const listen = (ev: KeyboardEvent): void => void above.push(ev.key);
    document.body.addEventListener('keydown', listen);
    items[1].focus();
    key(items[1], 'ArrowRight');
    key(items[2], 'Enter');
    key(items[2], 'ArrowDown'); // not a grid: not ours
    key(items[2], 'a');
    document.body.removeEventListener('keydown', listen);
    expect(above).toEqual(['ArrowDown', 'a']);
  });

  it('keeps focus inside when the items are replaced', () => {
    const { items, roving, log } = group(3);
    items[2].focus();
    const fresh = Array.from({ length: 3 }, () => h('span'));
    roving.setItems(fresh, 2, true);
    expect(document.activeElement).toBe(fresh[2]);
    expect(log).toEqual(['focus 2']); // the move to the new item is not a new focus
    expect(fresh.map((el) => el.tabIndex)).toEqual([-1, -1, 0]);
  });
});

describe('RovingCell (drawn items: only the current one has an element)', () => {
  afterEach(() => document.body.replaceChildren());

  function cells(count: number, columns: number) {
    const container = h('div');
    document.body.append(container);
    const log: string[] = [];
    const made: number[] = [];
    const roving = new RovingCell(container, {
      drawItem: (el, i) => {
        made.push(i);
        el.setAttribute('aria-label', `cell ${i}`);
      },
      onFocus: (i, el) => log.push(`focus ${i} ${el.getAttribute('aria-label')}`),
      onLeave: () => log.push('leave'),
      onActivate: (i) => log.push(`activate ${i}`),
    });
    roving.setCount(count, columns, 0);
    return { container, roving, log, made };
  }

  it('is one Tab stop: one element, for the current item, tabindex 0', () => {
    const { container, roving } = cells(6, 3);
    expect(container.children).toHaveLength(1);
    expect(roving.element!.tabIndex).toBe(0);
    expect(roving.element!.getAttribute('aria-label')).toBe('cell 0');
    roving.setCurrent(4);
    expect(container.children).toHaveLength(1);
    expect(roving.element!.getAttribute('aria-label')).toBe('cell 4');
    expect(roving.hasFocus()).toBe(false);
  });

  it('arrows move in 2-D to a fresh element that gets focus (announced as a new item); Enter/Space activate', () => {
    const { container, roving, log } = cells(6, 3);
    roving.element!.focus();
    const first = roving.element!;
    expect(key(first, 'ArrowRight').defaultPrevented).toBe(true);
    expect(roving.element).not.toBe(first);
    expect(first.isConnected).toBe(false);
    expect(document.activeElement).toBe(roving.element);
    key(roving.element!, 'ArrowDown');
    key(roving.element!, 'Enter');
    key(roving.element!, 'Home');
    key(roving.element!, ' ');
    key(roving.element!, 'ArrowLeft'); // at the row's start: handled, nothing moves
    expect(log).toEqual(['focus 0 cell 0', 'focus 1 cell 1', 'focus 4 cell 4', 'activate 4', 'focus 3 cell 3', 'activate 3']);
    expect(container.children).toHaveLength(1);
    const end = new KeyboardEvent('keydown', { key: 'End', ctrlKey: true, bubbles: true, cancelable: true });
    roving.element!.dispatchEvent(end);
    expect(roving.current).toBe(5);
    expect(key(roving.element!, 'PageDown').defaultPrevented).toBe(false);
  });

  it('reports leaving only when focus goes outside; Tab comes back to the last item', () => {
    const { roving, log } = cells(4, 2);
    const outside = h('button', { text: 'out' });
    document.body.append(outside);
    roving.element!.focus();
    key(roving.element!, 'ArrowDown');
    outside.focus();
    expect(log).toEqual(['focus 0 cell 0', 'focus 2 cell 2', 'leave']);
    expect(roving.element!.getAttribute('aria-label')).toBe('cell 2');
  });

  it('a redraw redraws the same element in place: focus on it stays, quietly', () => {
    const { roving, log, made } = cells(6, 3);
    roving.focus(4);
    const el = roving.element;
    roving.setCount(6, 3);
    expect(roving.element).toBe(el);
    expect(document.activeElement).toBe(el);
    expect(made.slice(-1)).toEqual([4]);
    roving.setCount(2, 2); // fewer items: clamped to the last
    expect(roving.current).toBe(1);
    expect(document.activeElement).toBe(el);
    expect(el!.getAttribute('aria-label')).toBe('cell 1');
    expect(log).toEqual(['focus 4 cell 4']);
    roving.setCount(0, 1);
    expect(roving.element).toBeNull();
  });

  it('a redraw while focus is on its way to the element (during the focusout it causes) does not lose it', () => {
    const { container, roving, log } = cells(6, 3);
    const before = h('button', { text: 'before' });
    container.before(before);
    // A group that redraws the grid when focus leaves it (as the head thumbnails do).
    before.addEventListener('focusout', () => roving.setCount(6, 3));
    before.focus();
    roving.element!.focus();
    expect(document.activeElement).toBe(roving.element);
    expect(log).toEqual(['focus 0 cell 0']);
  });
});
