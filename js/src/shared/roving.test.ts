import { afterEach, describe, expect, it } from 'vitest';
import { h } from './dom';
import { RovingFocus, layoutColumns, moveIndex } from './roving';
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
