// "Open in tab" from a widget's toolbar (labext/src/widget_open_in_tab.ts): the event bubbling out of
// a widget inside a notebook cell runs notebook:create-output-view for exactly that cell.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Signal } from '@lumino/signaling';
import { OPEN_IN_TAB_EVENT, OPEN_IN_TAB_MARKER, openInTabAvailable } from '../../ts/core/open_in_tab';
import {
  CREATE_OUTPUT_VIEW,
  type CommandsLike,
  type NotebookLike,
  type TrackerLike,
  findCell,
  listenForOpenInTab,
  listenWhenAvailable,
  openWidgetInTab
} from '../src/widget_open_in_tab';

// @jupyterlab/notebook pulls in ESM-only CSS under happy-dom; only its token is needed here.
vi.mock('@jupyterlab/notebook', () => ({ INotebookTracker: Symbol('INotebookTracker') }));

/** A notebook of `cells` cell elements (attached to the document), each holding a widget element. */
function notebook(path: string, cells: number): { panel: NotebookLike; widgets: HTMLElement[] } {
  const widgets: HTMLElement[] = [];
  const cellNodes = Array.from({ length: cells }, () => {
    const node = document.createElement('div');
    const output = document.createElement('div');
    const widget = document.createElement('div');
    widget.className = 'lenslab-widget';
    output.append(widget);
    node.append(output);
    document.body.append(node);
    widgets.push(widget);
    return { node };
  });
  return { panel: { context: { path }, content: { widgets: cellNodes, activeCellIndex: 0 } }, widgets };
}

function tracker(...panels: NotebookLike[]): TrackerLike {
  return { forEach: (fn) => panels.forEach(fn) };
}

class FakeCommands implements CommandsLike {
  calls: [string, { path: string; index: number }][] = [];
  async execute(id: string, args: { path: string; index: number }): Promise<unknown> {
    this.calls.push([id, args]);
    return undefined;
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => {
  document.body.replaceChildren();
  delete document.body.dataset[OPEN_IN_TAB_MARKER];
});

describe('findCell', () => {
  it('finds the notebook and cell index whose element contains the target', () => {
    const a = notebook('a.ipynb', 2);
    const b = notebook('b.ipynb', 3);
    const hit = findCell(tracker(a.panel, b.panel), b.widgets[2]);
    expect(hit?.panel).toBe(b.panel);
    expect(hit?.index).toBe(2);
    expect(findCell(tracker(a.panel, b.panel), document.createElement('div'))).toBeNull();
  });
});

describe('openWidgetInTab', () => {
  it("makes the widget's cell active and opens that cell's output view", async () => {
    const a = notebook('a.ipynb', 2);
    const b = notebook('dir/b.ipynb', 4);
    const commands = new FakeCommands();
    expect(await openWidgetInTab(tracker(a.panel, b.panel), commands, b.widgets[1])).toBe(true);
    expect(commands.calls).toEqual([[CREATE_OUTPUT_VIEW, { path: 'dir/b.ipynb', index: 1 }]]);
    expect(b.panel.content.activeCellIndex).toBe(1);
    expect(a.panel.content.activeCellIndex).toBe(0);
  });

  it('does nothing for a widget outside any notebook cell (e.g. already in a tab)', async () => {
    const a = notebook('a.ipynb', 1);
    const commands = new FakeCommands();
    const loose = document.createElement('div');
    document.body.append(loose);
    expect(await openWidgetInTab(tracker(a.panel), commands, loose)).toBe(false);
    expect(await openWidgetInTab(tracker(a.panel), commands, null)).toBe(false);
    expect(commands.calls).toEqual([]);
  });
});

describe('listenForOpenInTab', () => {
  it('sets the marker, answers the bubbling event from a widget, and undoes both', async () => {
    const a = notebook('a.ipynb', 3);
    const commands = new FakeCommands();
    expect(openInTabAvailable()).toBe(false);
    const undo = listenForOpenInTab(document, tracker(a.panel), commands);
    expect(openInTabAvailable()).toBe(true);

    const button = document.createElement('button');
    a.widgets[2].append(button);
    button.dispatchEvent(new CustomEvent(OPEN_IN_TAB_EVENT, { bubbles: true }));
    await settle();
    expect(commands.calls).toEqual([[CREATE_OUTPUT_VIEW, { path: 'a.ipynb', index: 2 }]]);

    undo();
    expect(openInTabAvailable()).toBe(false);
    button.dispatchEvent(new CustomEvent(OPEN_IN_TAB_EVENT, { bubbles: true }));
    await settle();
    expect(commands.calls).toHaveLength(1);
  });
});

describe('listenWhenAvailable', () => {
  class FakeRegistry extends FakeCommands {
    known = new Set<string>();
    readonly commandChanged = new Signal<unknown, { id?: string; type: string }>(this);
    hasCommand(id: string): boolean {
      return this.known.has(id);
    }
    add(id: string): void {
      this.known.add(id);
      this.commandChanged.emit({ id, type: 'added' });
    }
  }

  it('shows the button only once notebook:create-output-view exists (not in Notebook 7)', async () => {
    const a = notebook('a.ipynb', 1);
    const registry = new FakeRegistry();
    const undo = listenWhenAvailable(document, tracker(a.panel), registry);
    expect(openInTabAvailable()).toBe(false);
    a.widgets[0].dispatchEvent(new CustomEvent(OPEN_IN_TAB_EVENT, { bubbles: true }));
    await settle();
    expect(registry.calls).toEqual([]);

    registry.add('notebook:some-other-command');
    expect(openInTabAvailable()).toBe(false);
    registry.add(CREATE_OUTPUT_VIEW);
    expect(openInTabAvailable()).toBe(true);
    a.widgets[0].dispatchEvent(new CustomEvent(OPEN_IN_TAB_EVENT, { bubbles: true }));
    await settle();
    expect(registry.calls).toEqual([[CREATE_OUTPUT_VIEW, { path: 'a.ipynb', index: 0 }]]);
    undo();
    expect(openInTabAvailable()).toBe(false);
  });

  it('listens at once when the command is already there', () => {
    const registry = new FakeRegistry();
    registry.known.add(CREATE_OUTPUT_VIEW);
    const undo = listenWhenAvailable(document, tracker(), registry);
    expect(openInTabAvailable()).toBe(true);
    undo();
  });
});
