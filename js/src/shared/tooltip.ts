// One floating tooltip per widget, positioned inside the widget's root element.
import { h } from './dom';

export interface TooltipLine {
  label?: string;
  value: string;
  strong?: boolean;
}

/**
 * The tooltip's lines as one accessible name ("dest 3 “cat”, weight 0.25"): what a focused item
 * says is what hovering it shows, from the same lines (the label's gap is a space here).
 */
export function linesLabel(lines: readonly TooltipLine[]): string {
  return lines.map((line) => (line.label ? `${line.label.trim()} ${line.value}` : line.value)).join(', ');
}

/** Where to put a box of size (w, h) next to the pointer without leaving the bounds. */
export function placeTooltip(
  x: number,
  y: number,
  w: number,
  hgt: number,
  boundsW: number,
  boundsH: number,
  gap = 12,
): { left: number; top: number } {
  let left = x + gap;
  let top = y + gap;
  if (left + w > boundsW) left = Math.max(0, x - gap - w);
  if (top + hgt > boundsH) top = Math.max(0, y - gap - hgt);
  return { left, top };
}

/**
 * Where to put a box of size (w, h) for a focused element spanning [top, bottom] (no pointer):
 * under it from `x`, or above it when there is no room below, never covering it if it fits.
 */
export function placeUnder(
  x: number,
  top: number,
  bottom: number,
  w: number,
  hgt: number,
  boundsW: number,
  boundsH: number,
  gap = 4,
): { left: number; top: number } {
  const left = Math.max(0, Math.min(x, boundsW - w));
  const below = bottom + gap;
  return { left, top: below + hgt <= boundsH || top - gap - hgt < 0 ? below : top - gap - hgt };
}

/** What a tooltip is shown for: a pointer position, and for keyboard focus the focused box. */
export interface TooltipAt {
  clientX: number;
  clientY: number;
  /** The focused element's box (client coordinates): the tooltip goes under or over it. */
  anchor?: { top: number; bottom: number };
}

export class Tooltip {
  readonly el: HTMLDivElement;
  private readonly host: HTMLElement;

  constructor(host: HTMLElement) {
    this.host = host;
    this.el = h('div', { class: 'lenslab-tooltip', role: 'tooltip' });
    this.el.hidden = true;
    // The tooltip is placed in the host's coordinates, so the host is its containing block.
    if (!host.style.position) host.style.position = 'relative';
    host.append(this.el);
  }

  /** Shows `lines` near the client coordinates (clientX, clientY). */
  show(clientX: number, clientY: number, lines: TooltipLine[], anchor?: TooltipAt['anchor']): void {
    this.el.replaceChildren(
      ...lines.map((line) =>
        h(
          'div',
          { class: line.strong ? 'lenslab-tooltip-line lenslab-strong' : 'lenslab-tooltip-line' },
          line.label ? h('span', { class: 'lenslab-tooltip-label', text: line.label }) : null,
          h('span', { class: 'lenslab-tooltip-value', text: line.value }),
        ),
      ),
    );
    this.el.hidden = false;
    const box = this.host.getBoundingClientRect();
    const [w, hgt, bw, bh] = [this.el.offsetWidth || 160, this.el.offsetHeight || 40, box.width || Infinity, box.height || Infinity];
    const pos = anchor
      ? placeUnder(clientX - box.left, anchor.top - box.top, anchor.bottom - box.top, w, hgt, bw, bh)
      : placeTooltip(clientX - box.left, clientY - box.top, w, hgt, bw, bh);
    this.el.style.left = `${pos.left}px`;
    this.el.style.top = `${pos.top}px`;
  }

  hide(): void {
    this.el.hidden = true;
  }

  text(): string {
    return this.el.hidden ? '' : (this.el.textContent ?? '');
  }
}
