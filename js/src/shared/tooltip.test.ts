import { describe, expect, it } from 'vitest';
import { Tooltip, linesLabel, placeTooltip, placeUnder } from './tooltip';

describe('tooltip placement', () => {
  it('puts a pointer tooltip beside the pointer, flipped at the bounds', () => {
    expect(placeTooltip(10, 10, 100, 40, 500, 300)).toEqual({ left: 22, top: 22 });
    expect(placeTooltip(450, 280, 100, 40, 500, 300)).toEqual({ left: 338, top: 228 });
  });

  it('puts a focus tooltip under the focused box, or over it near the bottom, never on it', () => {
    expect(placeUnder(10, 20, 40, 100, 30, 500, 300)).toEqual({ left: 10, top: 44 });
    expect(placeUnder(450, 250, 270, 100, 40, 500, 300)).toEqual({ left: 400, top: 206 });
    expect(placeUnder(10, 5, 25, 100, 40, 500, 50)).toEqual({ left: 10, top: 29 }); // no room above either
  });

  it('makes its host the containing block it is placed in', () => {
    const host = document.createElement('div');
    new Tooltip(host);
    expect(host.style.position).toBe('relative');
  });
});

describe('tooltip lines as an accessible name', () => {
  it('joins the lines with commas, each label and its value with one space', () => {
    expect(linesLabel([{ value: 'L0H1', strong: true }, { label: 'dest', value: '2 \u201c sat\u201d' }, { label: 'count ', value: '4' }])).toBe('L0H1, dest 2 \u201c sat\u201d, count 4');
    expect(linesLabel([])).toBe('');
  });

  it('says what the tooltip shows, in the same order', () => {
    const host = document.createElement('div');
    const tip = new Tooltip(host);
    const lines = [{ value: 'key' }, { label: 'value', value: '2.1' }];
    tip.show(0, 0, lines);
    expect(tip.text()).toBe('keyvalue2.1');
    expect(linesLabel(lines).replace(/[ ,]/g, '')).toBe(tip.text());
  });
});
