import { describe, expect, it } from 'vitest';
import { type RGB, LUT_SIZE, contrastRatio, divergingScale, sequentialScale, textColorOn } from './colorscale';
import { chipStrip, chipText, chipTooltip } from './token_chips';

const BLACK: RGB = [0, 0, 0];
const WHITE: RGB = [255, 255, 255];
const rgbOfCss = (c: string): RGB => (c === '#000' ? BLACK : WHITE);

describe('chip text', () => {
  it('shows newlines and tabs as symbols and all-space tokens as dots, on one line', () => {
    expect(chipText('\n')).toBe('\u21b5');
    expect(chipText('.\n\n')).toBe('.\u21b5\u21b5');
    expect(chipText('\t')).toBe('\u21e5');
    expect(chipText('   ')).toBe('\u00b7\u00b7\u00b7');
    expect(chipText(' cat')).toBe(' cat');
    expect(chipText('\r\n')).toBe('\u21b5');
    expect(chipText('x'.repeat(30))).toBe('x'.repeat(23) + '\u2026');
  });

  it('breaks the line after a newline token', () => {
    const strip = chipStrip(['a', '\n', 'b'], [0, 0, 0], divergingScale(1));
    expect([...strip.el.childNodes].map((n) => n.nodeName)).toEqual(['SPAN', 'SPAN', 'BR', 'SPAN']);
    expect(strip.chips[1].textContent).toBe('\u21b5');
  });

  it('hover text names the index, the token and the exact value', () => {
    const lines = chipTooltip(['The', ' cat'], [0.5, -0.123456789], 1);
    expect(lines.map((l) => (l.label ?? '') + l.value)).toEqual(['token 1 \u201c cat\u201d', 'value -0.123457']);
  });
});

describe('WCAG AA text on every colour of both scales', () => {
  for (const [name, scale] of [
    ['diverging', divergingScale(1)],
    ['sequential', sequentialScale(0, 1)],
  ] as const) {
    it(`keeps at least 4.5:1 on all ${LUT_SIZE} ${name} colours`, () => {
      let worst = Infinity;
      for (let i = 0; i < LUT_SIZE; i++) {
        const bg: RGB = [scale.lut[i * 4], scale.lut[i * 4 + 1], scale.lut[i * 4 + 2]];
        worst = Math.min(worst, contrastRatio(bg, rgbOfCss(textColorOn(bg))));
      }
      expect(worst).toBeGreaterThanOrEqual(4.5);
    });
  }

  it('picks black on light and white on dark backgrounds, the higher of the two contrasts', () => {
    expect(textColorOn([247, 247, 247])).toBe('#000');
    expect(textColorOn([5, 48, 97])).toBe('#fff');
    expect(textColorOn([103, 0, 31])).toBe('#fff');
    for (let g = 0; g < 256; g += 5) {
      const bg: RGB = [g, g, g];
      const chosen = contrastRatio(bg, rgbOfCss(textColorOn(bg)));
      expect(chosen).toBeCloseTo(Math.max(contrastRatio(bg, BLACK), contrastRatio(bg, WHITE)), 9);
    }
  });

  it('measures contrast as WCAG defines it', () => {
    expect(contrastRatio(WHITE, BLACK)).toBeCloseTo(21, 9);
    expect(contrastRatio([118, 118, 118], WHITE)).toBeCloseTo(4.54, 2);
  });
});
