import { describe, expect, it } from 'vitest';
import { displayToken } from './dom';

describe('displayToken', () => {
  it('shows every kind of line break as one narrow return arrow and tabs as an arrow', () => {
    for (const nl of ['\n', '\r\n', '\r', '\u2028', '\u0085']) expect(displayToken(nl)).toBe('\u21b5');
    expect(displayToken('\n\n')).toBe('\u21b5\u21b5');
    expect(displayToken('\tx')).toBe('\u21e5x');
    expect(displayToken(' cat')).toBe(' cat');
  });
  it('cuts long tokens with an ellipsis', () => {
    expect(displayToken('abcdefghij', 5)).toBe('abcd\u2026');
  });
});
