// DOM helpers for the sidebar. Text from the kernel (prompts, tokens, names) always goes
// through textContent, never innerHTML.

type Props = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

/** `el('div', {class: 'x', title: 't'}, child...)`; a false/null/undefined prop is left out. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = String(value);
    else if (key === 'text') node.textContent = String(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

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
