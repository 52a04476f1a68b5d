// DOM pieces of the sidebar (buttons, sections, keyed re-render) on the shared helper in ts/core/dom.ts.
// Text from the kernel (prompts, tokens, names) always goes through textContent, never innerHTML.

import { type Attrs as Props, type Child, h } from '../../../ts/core/dom';

/** `el('div', {class: 'x', title: 't'}, child...)`: the shared DOM helper of ts/core/dom.ts. */
export const el = h;

/** A button that calls `onClick` (and does not submit any form it sits in). */
export function button(label: string, onClick: () => void, props: Props = {}): HTMLButtonElement {
  const b = el('button', { type: 'button', class: 'lenslab-sb-button', ...props }, label);
  b.addEventListener('click', (e) => {
    e.stopPropagation();
    onClick();
  });
  return b;
}

/** A titled section of the panel. */
export function section(title: string, cls: string, ...children: Child[]): HTMLElement {
  return el('section', { class: `lenslab-sb-section ${cls}` }, el('h3', { class: 'lenslab-sb-heading', text: title }), ...children);
}

/** Replaces `host`'s children only when `key` changed since the last call (keeps focus and scroll). */
export function renderIfChanged(host: HTMLElement, key: string, build: () => Child[]): void {
  if (host.dataset.renderKey === key) return;
  host.dataset.renderKey = key;
  host.replaceChildren(...build().filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}
