import { describe, expect, it } from 'vitest';
import { type Figure, SVG_RECT_LIMIT, escapeXml, exportButtons, figureToSvg, safeFileName, translateItems } from './export_image';

const figure: Figure = {
  width: 100,
  height: 60,
  background: '#ffffff',
  items: [
    { type: 'heatmap', x: 10, y: 10, w: 20, h: 10, rows: 1, cols: 2, rgba: new Uint8ClampedArray([255, 0, 0, 255, 0, 0, 255, 255]) },
    { type: 'text', x: 5, y: 50, text: '<L0H1> & "x"', rotate: 90, bold: true },
    { type: 'rect', x: 1, y: 2, w: 3, h: 4, stroke: '#bbb' },
    { type: 'polyline', points: [[0, 0], [10, 5]], stroke: '#00f' },
  ],
};

describe('figureToSvg', () => {
  const svg = figureToSvg(figure);

  it('writes a standalone SVG document of the right size', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="60"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
    expect(doc.querySelector('svg')).not.toBeNull();
  });

  it('draws small heatmaps as one rect per cell', () => {
    expect(svg).toContain('fill="#ff0000"');
    expect(svg).toContain('fill="#0000ff"');
    expect(svg).toMatch(/<rect x="20" y="10" width="10.02"/);
    expect(SVG_RECT_LIMIT).toBeGreaterThanOrEqual(512);
  });

  it('escapes text and keeps rotation and weight', () => {
    expect(svg).toContain('&lt;L0H1&gt; &amp; &quot;x&quot;');
    expect(svg).toContain('transform="rotate(90 5 50)"');
    expect(svg).toContain('font-weight="600"');
    expect(svg).toContain('<polyline fill="none" stroke="#00f"');
    expect(escapeXml("a'b")).toBe('a&apos;b');
  });
});

describe('helpers', () => {
  it('translates every item kind', () => {
    const moved = translateItems(figure.items, 5, 7);
    expect(moved[0]).toMatchObject({ x: 15, y: 17 });
    expect(moved[3]).toMatchObject({ points: [[5, 7], [15, 12]] });
  });

  it('makes safe file names', () => {
    expect(safeFileName('Layer 0 attention_L0H3')).toBe('Layer_0_attention_L0H3');
    expect(safeFileName('  /// ')).toBe('lenslab');
    expect(safeFileName('blocks.0.attn.hook_z')).toBe('blocks.0.attn.hook_z');
  });

  it('renders PNG and SVG buttons that call the figure at click time', () => {
    let calls = 0;
    const el = exportButtons(
      () => {
        calls++;
        return figure;
      },
      () => 'test',
    );
    const buttons = [...el.querySelectorAll('button')].map((b) => b.textContent);
    expect(buttons).toEqual(['PNG', 'SVG']);
    URL.createObjectURL = () => 'blob:test';
    URL.revokeObjectURL = () => undefined;
    (el.querySelectorAll('button')[1] as HTMLButtonElement).click();
    expect(calls).toBe(1);
  });
});
