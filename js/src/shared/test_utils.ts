// Test helpers (imported by *.test.ts only, never by a widget bundle).
import type { AnyModel } from '@anywidget/types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mirrors @anywidget/types ObjectHash
type ObjectHash = Record<string, any>;

export interface FakeModel<T extends ObjectHash> extends AnyModel<T> {
  saved: number;
  /** Sets several traits and fires their change events after all are set, as the kernel does. */
  update(values: Partial<T>): void;
}

/** A stand-in for the anywidget model: get/set/on/off/save_changes with change events. */
export function fakeModel<T extends ObjectHash>(initial: T): FakeModel<T> {
  const state = { ...initial } as T;
  const handlers = new Map<string, Set<(...args: unknown[]) => void>>();
  const fire = (event: string): void => handlers.get(event)?.forEach((fn) => fn());
  const model = {
    saved: 0,
    get: <K extends keyof T>(key: K): T[K] => state[key],
    set: <K extends keyof T>(key: K, value: T[K]): void => {
      state[key] = value;
      fire(`change:${String(key)}`);
    },
    update(values: Partial<T>): void {
      Object.assign(state, values);
      for (const key of Object.keys(values)) fire(`change:${key}`);
    },
    on: (event: string, fn: (...args: unknown[]) => void): void => {
      if (!handlers.has(event)) handlers.set(event, new Set());
      handlers.get(event)!.add(fn);
    },
    off: (event?: string | null, fn?: ((...args: unknown[]) => void) | null): void => {
      if (!event) handlers.clear();
      else if (!fn) handlers.delete(event);
      else handlers.get(event)?.delete(fn);
    },
    save_changes(): void {
      model.saved++;
    },
    send: (): void => undefined,
    widget_manager: { get_model: () => Promise.reject(new Error('no widget manager in tests')) },
  };
  return model as unknown as FakeModel<T>;
}

export function f32View(values: number[]): DataView {
  return new DataView(new Float32Array(values).buffer);
}

/** Waits for queued microtasks (the widgets coalesce trait changes into one redraw). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function mouse(type: string, x = 0, y = 0): MouseEvent {
  return new MouseEvent(type, { clientX: x, clientY: y, bubbles: true });
}

/** Dispatches a keydown of `k` on `el` (bubbling, cancelable); returns the event. */
export function key(el: Element, k: string): KeyboardEvent {
  const ev = new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true });
  el.dispatchEvent(ev);
  return ev;
}

/** Items laid out `cols` per row (happy-dom has no layout: each item reports its row's top). */
export function fakeRows(items: HTMLElement[], cols: number): void {
  items.forEach((el, i) => {
    const top = Math.floor(i / cols) * 80;
    el.getBoundingClientRect = () => ({ top, bottom: top + 70, left: (i % cols) * 80, right: (i % cols) * 80 + 70, x: 0, y: top, width: 70, height: 70, toJSON: () => ({}) }) as DOMRect;
  });
}

/** Renders `widget` for `model` into a new element attached to the document; returns the element. */
export function mountWidget<T extends ObjectHash>(
  widget: { render: (props: { model: FakeModel<T>; el: HTMLElement }) => unknown },
  model: FakeModel<T>,
): HTMLElement {
  const el = document.createElement('div');
  document.body.append(el);
  widget.render({ model, el });
  return el;
}
