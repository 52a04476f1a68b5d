// Scaling a result widget into the sidebar's width (labext/src/fit.ts).
import { describe, expect, it } from 'vitest';
import { FIT_LAYOUT_WIDTH, fitScale, keepFitted } from '../src/fit';

describe('fitScale', () => {
  it('shrinks to the available width and never enlarges', () => {
    expect(fitScale(440, 220)).toBe(0.5);
    expect(fitScale(880, 234)).toBeCloseTo(234 / 880, 12);
    expect(fitScale(440, 600)).toBe(1);
    expect(fitScale(440, 440)).toBe(1);
  });

  it('leaves the scale at 1 while a size is unknown', () => {
    expect(fitScale(0, 200)).toBe(1);
    expect(fitScale(440, 0)).toBe(1);
    expect(fitScale(Number.NaN, 200)).toBe(1);
  });
});

describe('keepFitted', () => {
  function boxes(outerWidth: number, innerScroll: number, innerHeight: number): [HTMLElement, HTMLElement] {
    const outer = document.createElement('div');
    const inner = document.createElement('div');
    outer.append(inner);
    Object.defineProperty(outer, 'clientWidth', { value: outerWidth });
    Object.defineProperty(inner, 'scrollWidth', { value: innerScroll });
    Object.defineProperty(inner, 'offsetHeight', { value: innerHeight });
    return [outer, inner];
  }

  it('lays the widget out at its own width and scales it and the frame height to the panel', () => {
    const [outer, inner] = boxes(220, 300, 400);
    const stop = keepFitted(outer, inner);
    expect(inner.style.width).toBe(`${FIT_LAYOUT_WIDTH}px`);
    expect(inner.style.transform).toBe('scale(0.5)'); // 220 / max(440, 300)
    expect(outer.style.height).toBe('200px');
    expect(outer.dataset.scale).toBe('0.500');
    stop();
  });

  it('measures overflowing content, and leaves a wide panel unscaled', () => {
    const [outer, inner] = boxes(234, 936, 100);
    keepFitted(outer, inner)();
    expect(inner.style.transform).toBe('scale(0.25)');
    const [wide, content] = boxes(900, 440, 100);
    keepFitted(wide, content)();
    expect(content.style.transform).toBe('');
    expect(wide.style.height).toBe('');
  });
});
