// Pieces every widget entry point shares: the root element with its toolbar and
// error box, and change subscriptions that coalesce into one redraw.
import type { AnyModel } from '@anywidget/types';
import { h } from './dom';
import { type Figure, exportButtons } from './export_image';

export interface Shell {
  root: HTMLDivElement;
  toolbar: HTMLDivElement;
  title: HTMLSpanElement;
  meta: HTMLSpanElement;
  error: HTMLDivElement;
  showError(message: string | null): void;
}

export function createShell(kind: string, figure: () => Figure, basename: () => string): Shell {
  const title = h('span', { class: 'lenslab-title' });
  const meta = h('span', { class: 'lenslab-meta' });
  const toolbar = h('div', { class: 'lenslab-toolbar' }, title, meta, h('span', { class: 'lenslab-spacer' }), exportButtons(figure, basename));
  const error = h('div', { class: 'lenslab-error', role: 'alert' });
  error.hidden = true;
  const root = h('div', { class: `lenslab-widget lenslab-${kind}` }, toolbar, error);
  return {
    root,
    toolbar,
    title,
    meta,
    error,
    showError(message) {
      error.textContent = message ?? '';
      error.hidden = !message;
    },
  };
}

/**
 * Calls `fn` once after any of the named traits changed (several traits arrive in
 * one kernel message; coalescing avoids drawing half-updated state). Returns the cleanup.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mirrors @anywidget/types ObjectHash
export function onTraits<T extends Record<string, any>>(model: AnyModel<T>, names: (keyof T & string)[], fn: () => void): () => void {
  let queued = false;
  const handler = (): void => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      fn();
    });
  };
  for (const name of names) model.on(`change:${name}`, handler);
  return () => {
    for (const name of names) model.off(`change:${name}`, handler);
  };
}

/** The message of anything thrown, for the error box. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Records the time to the next painted frame on `el` (data-paint-ms), for the browser test. */
export function recordPaint(el: HTMLElement, t0: number): void {
  if (typeof requestAnimationFrame !== 'function') return;
  requestAnimationFrame(() =>
    setTimeout(() => {
      el.dataset.paintMs = (performance.now() - t0).toFixed(1);
    }, 0),
  );
}
