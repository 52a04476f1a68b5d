// Tokens as inline chips coloured by a value each (ColoredTokens, TopExamples). The static HTML
// twin, for saved notebooks, is py_src/lenslab/widgets/_token_html.py: same text, colours, rules.
import { type ColorScale, type RGB, cssColor, divergingScale, formatValue, rgbOf, sequentialScale, textColorOn } from './colorscale';
import { h } from './dom';
import type { FigureItem } from './export_image';
import { RovingFocus, pointBelow } from './roving';
import type { TooltipAt, TooltipLine } from './tooltip';
import type { Cmap } from './types';

/** The scale Python chose (lenslab.widgets._colors.scale_range): one range for every value shown. */
export function tokenScale(cmap: Cmap, vmin: number, vmax: number): ColorScale {
  return cmap === 'diverging' ? divergingScale(vmax) : sequentialScale(vmin, vmax);
}

/** Longest chip text before it is cut with an ellipsis. */
export const CHIP_CHARS = 24;

/**
 * A token as its chip shows it, on one line: newline as ↵ and tab as ⇥ (so a newline token is
 * a normal-width chip, not a blank one), and a token of only spaces as dots.
 */
export function chipText(token: string, maxChars = CHIP_CHARS): string {
  let s = token.replace(/\r/g, '');
  if (s.length > 0 && s.trim() === '') s = s.replace(/ /g, '\u00b7');
  s = s.replace(/\n/g, '\u21b5').replace(/\t/g, '\u21e5');
  return s.length > maxChars ? s.slice(0, maxChars - 1) + '\u2026' : s;
}

/** The quoted token of a hover text: “ cat” keeps its leading space visible. */
export function quotedChip(token: string): string {
  return `\u201c${chipText(token, 40)}\u201d`;
}

/** Background and text colour of a chip holding `value` (text black or white by luminance). */
export function chipColors(scale: ColorScale, value: number): { background: RGB; text: string } {
  const background = rgbOf(scale, value);
  return { background, text: textColorOn(background) };
}

/** What hovering a chip shows: its index, the token and the exact value. */
export function chipTooltip(tokens: readonly string[], values: ArrayLike<number>, i: number, extra: TooltipLine[] = []): TooltipLine[] {
  return [
    { value: `token ${i} ${quotedChip(tokens[i] ?? '')}`, strong: true },
    ...extra,
    { label: 'value ', value: formatValue(values[i], 6), strong: true },
  ];
}

/** A chip's accessible name: what its hover text says (index, token, exact value). */
export function chipLabel(tokens: readonly string[], values: ArrayLike<number>, i: number, highlight = -1): string {
  return `token ${i} ${quotedChip(tokens[i] ?? '')}, value ${formatValue(values[i], 6)}${i === highlight ? ', max token' : ''}`;
}

export interface ChipStrip {
  el: HTMLDivElement;
  chips: HTMLSpanElement[];
  roving: RovingFocus;
}

/** Where a hover points: a mouse event, or a chip that has keyboard focus (its box the anchor). */
export type ChipPoint = TooltipAt;

/**
 * One chip per token in a wrapping text flow (a line break follows each token ending in a
 * newline, so code and prose keep their lines). `onHover(i, at)` fires on enter and on keyboard
 * focus, (-1) on leave and when focus leaves the strip. The strip is one Tab stop (a listbox
 * named `label`); Left/Right/Home/End move between chips.
 */
export function chipStrip(
  tokens: readonly string[],
  values: ArrayLike<number>,
  scale: ColorScale,
  onHover?: (i: number, at: ChipPoint) => void,
  highlight = -1,
  label = 'Tokens',
): ChipStrip {
  const chips = tokens.map((tok, i) => {
    const v = values[i];
    const { background, text } = chipColors(scale, v);
    const chip = h('span', {
      class: i === highlight ? 'lenslab-chip lenslab-chip-max' : 'lenslab-chip',
      role: 'option',
      'aria-label': chipLabel(tokens, values, i, highlight),
      'data-pos': i,
      'data-value': String(v),
      text: chipText(tok),
    });
    chip.style.background = cssColor(background);
    chip.style.color = text;
    if (onHover) {
      chip.addEventListener('mouseenter', (ev) => onHover(i, ev));
      chip.addEventListener('mousemove', (ev) => onHover(i, ev));
      chip.addEventListener('mouseleave', (ev) => onHover(-1, ev));
    }
    return chip;
  });
  const children: Node[] = [];
  tokens.forEach((tok, i) => {
    children.push(chips[i]);
    if (tok.endsWith('\n')) children.push(h('br'));
  });
  const el = h('div', { class: 'lenslab-chips', role: 'listbox', 'aria-label': label }, ...children);
  const roving = new RovingFocus(el, {
    onFocus: (i, chip) => onHover?.(i, pointBelow(chip)),
    onLeave: () => onHover?.(-1, { clientX: 0, clientY: 0 }),
  });
  roving.setItems(chips, highlight >= 0 ? highlight : 0);
  return { el, chips, roving };
}

/** The chips as export-figure items, wrapped at `width` px (about 7 px per character). */
export function chipFigureItems(
  tokens: readonly string[],
  values: ArrayLike<number>,
  scale: ColorScale,
  width: number,
  highlight = -1,
): { items: FigureItem[]; height: number } {
  const items: FigureItem[] = [];
  const lineH = 20;
  let x = 0;
  let y = 0;
  tokens.forEach((tok, i) => {
    const text = chipText(tok);
    const w = Math.max(12, text.length * 7 + 8);
    if (x > 0 && x + w > width) {
      x = 0;
      y += lineH;
    }
    const { background, text: fg } = chipColors(scale, values[i]);
    items.push({ type: 'rect', x, y, w, h: lineH - 3, fill: cssColor(background), stroke: i === highlight ? '#ffaa00' : '#d8dee4', strokeWidth: i === highlight ? 2 : 0.5 });
    items.push({ type: 'text', x: x + w / 2, y: y + (lineH - 3) / 2, text, size: 11, anchor: 'middle', baseline: 'middle', fill: fg });
    x += w + 3;
    if (tok.endsWith('\n')) {
      x = 0;
      y += lineH;
    }
  });
  return { items, height: y + lineH };
}
