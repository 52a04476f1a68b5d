// One floating tooltip per widget, positioned inside the widget's root element.
import { h } from './dom';

export interface TooltipLine {
  label?: string;
  value: string;
  strong?: boolean;
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

export class Tooltip {
  readonly el: HTMLDivElement;
  private readonly host: HTMLElement;

  constructor(host: HTMLElement) {
    this.host = host;
    this.el = h('div', { class: 'lenslab-tooltip', role: 'tooltip' });
    this.el.hidden = true;
    host.append(this.el);
  }

  /** Shows `lines` near the client coordinates (clientX, clientY). */
  show(clientX: number, clientY: number, lines: TooltipLine[]): void {
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
    const pos = placeTooltip(
      clientX - box.left,
      clientY - box.top,
      this.el.offsetWidth || 160,
      this.el.offsetHeight || 40,
      box.width || Infinity,
      box.height || Infinity,
    );
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
