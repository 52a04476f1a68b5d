// Pieces every widget entry point shares: the root element with its toolbar and
// error box, and change subscriptions that coalesce into one redraw.
import type { AnyModel } from '@anywidget/types';
import { h, now } from './dom';
import { type Figure, exportButtons } from './export_image';
import { OPEN_IN_TAB_EVENT, openInTabAvailable } from '../../../ts/core/open_in_tab';

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
  const toolbar = h(
    'div',
    { class: 'lenslab-toolbar' },
    title,
    meta,
    h('span', { class: 'lenslab-spacer' }),
    openInTabButton(),
    exportButtons(figure, basename),
  );
  const error = h('div', { class: 'lenslab-error', role: 'alert' });
  error.hidden = true;
  const root = h('div', { class: `lenslab-widget lenslab-${kind}` }, toolbar, error);
  keepKeysFromJupyterLab(root);
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
 * Whether a key pressed inside a widget still reaches JupyterLab: shortcuts with Ctrl, Cmd or Alt
 * (save, undo, the command palette), running the cell (Shift+Enter; Ctrl+Enter has Ctrl) and Escape.
 */
export function keyReachesJupyterLab(ev: KeyboardEvent): boolean {
  return ev.ctrlKey || ev.metaKey || ev.altKey || ev.key === 'Escape' || (ev.key === 'Enter' && ev.shiftKey);
}

/**
 * Plain keys pressed inside the widget are the widget's: none reaches JupyterLab's notebook
 * shortcuts (Enter entering edit mode, A/B inserting cells, D D deleting this cell) while focus is
 * in it. JupyterLab (>= 4.1) reads keys on document in the bubbling phase, so the root stops them
 * on their way up; keyReachesJupyterLab's keys go on (Ctrl+S still saves). Lumino's
 * `data-lm-suppress-shortcuts` attribute is not used: it would block those too, and on an ancestor
 * it does not stop the command-mode bindings, which match the focused element itself.
 */
export function keepKeysFromJupyterLab(root: HTMLElement): void {
  root.addEventListener('keydown', (ev) => {
    if (!keyReachesJupyterLab(ev)) ev.stopPropagation();
  });
}

/**
 * "Open in tab": only when the LensLab JupyterLab extension listens (see ts/core/open_in_tab.ts);
 * the click bubbles OPEN_IN_TAB_EVENT from the button up through the notebook cell to document.
 */
function openInTabButton(): HTMLButtonElement | null {
  if (!openInTabAvailable()) return null;
  const button = h('button', {
    class: 'lenslab-button lenslab-open-tab',
    type: 'button',
    title: "Open this cell's output in a JupyterLab tab at full size",
    text: 'Open in tab',
  });
  button.addEventListener('click', () => {
    button.dispatchEvent(new CustomEvent(OPEN_IN_TAB_EVENT, { bubbles: true, composed: true }));
  });
  return button;
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

/** A callback that sets trait `name` from the view and sends it to Python (a pick, a control). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mirrors @anywidget/types ObjectHash
export function sendTrait<T extends Record<string, any>, K extends keyof T & string>(model: AnyModel<T>, name: K): (value: T[K]) => void {
  return (value) => {
    model.set(name, value);
    model.save_changes();
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

/** What a widget's view offers the shell: its element, the figure to export, and (optionally) cleanup. */
export interface WidgetView {
  el: HTMLElement;
  figure(): Figure;
  dispose?(): void;
}

/** What `connect` gets: the view and shell, and `timed`, which wraps a draw in the error box and render timing. */
export interface Mounted<V extends WidgetView> {
  view: V;
  shell: Shell;
  timed(draw: () => void): () => void;
}

/**
 * The one mount of every widget entry point: the shell (toolbar with export buttons, error box)
 * around `makeView(shell)`, appended to `el`; `connect` draws and subscribes, returning its
 * unsubscribes. Returns anywidget's cleanup (unsubscribe, dispose the view, remove the root).
 */
export function mountWidget<V extends WidgetView>(
  el: HTMLElement,
  options: { kind: string; basename: () => string; makeView: (shell: Shell) => V },
  connect: (mounted: Mounted<V>) => (() => void)[],
): () => void {
  let view: V | null = null;
  const shell = createShell(options.kind, () => view!.figure(), options.basename);
  view = options.makeView(shell);
  shell.root.append(view.el);
  el.append(shell.root);
  const timed =
    (draw: () => void) =>
    (): void => {
      const t0 = now();
      try {
        draw();
        shell.showError(null);
      } catch (e) {
        shell.showError(errorText(e));
      }
      shell.root.dataset.renderMs = (now() - t0).toFixed(1);
      recordPaint(shell.root, t0);
    };
  const cleanups = connect({ view, shell, timed });
  const mounted = view;
  return () => {
    for (const cleanup of cleanups) cleanup();
    mounted.dispose?.();
    shell.root.remove();
  };
}

/** Calls `fn` when the trait `name` changes; returns the unsubscribe. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mirrors @anywidget/types ObjectHash
export function onTrait<T extends Record<string, any>>(model: AnyModel<T>, name: keyof T & string, fn: () => void): () => void {
  model.on(`change:${name}`, fn);
  return () => model.off(`change:${name}`, fn);
}
