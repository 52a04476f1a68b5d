// "Open in tab" from a widget's own toolbar. The widget (an anywidget bundle, js/) cannot reach the
// JupyterLab app, so it dispatches OPEN_IN_TAB_EVENT from its element (ts/core/open_in_tab.ts).
// This plugin hears it on document, finds the notebook cell holding the widget and runs
// JupyterLab's "notebook:create-output-view", which opens that cell's output in a main-area tab:
// the same live widget model, rendered again at full size.
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import type { ISignal } from '@lumino/signaling';
import { OPEN_IN_TAB_EVENT, OPEN_IN_TAB_MARKER } from '../../ts/core/open_in_tab';

/** JupyterLab's own command (notebook-extension) that clones a cell's output area into a tab. */
export const CREATE_OUTPUT_VIEW = 'notebook:create-output-view';

/** The parts of INotebookTracker / NotebookPanel / CommandRegistry the handler uses (fakes in tests). */
export interface NotebookLike {
  readonly context: { readonly path: string };
  readonly content: { readonly widgets: readonly { readonly node: HTMLElement }[]; activeCellIndex: number };
}
export interface TrackerLike {
  forEach(fn: (panel: NotebookLike) => void): void;
}
export interface CommandsLike {
  execute(id: string, args: { path: string; index: number }): Promise<unknown>;
}

/** The notebook and index of the cell whose element contains `target`, or null. */
export function findCell(tracker: TrackerLike, target: Node): { panel: NotebookLike; index: number } | null {
  let found: { panel: NotebookLike; index: number } | null = null;
  tracker.forEach((panel) => {
    if (found) return;
    const index = panel.content.widgets.findIndex((cell) => cell.node.contains(target));
    if (index >= 0) found = { panel, index };
  });
  return found;
}

/**
 * Answers one OPEN_IN_TAB_EVENT: makes the widget's cell active and opens its output in a tab.
 * The command gets the notebook path and cell index explicitly, because the notebook holding the
 * widget need not be the tracker's current one. Returns false when the widget is in no notebook
 * cell (e.g. it already is in an output tab), and then does nothing.
 */
export async function openWidgetInTab(tracker: TrackerLike, commands: CommandsLike, target: EventTarget | null): Promise<boolean> {
  if (!(target instanceof Node)) return false;
  const hit = findCell(tracker, target);
  if (!hit) return false;
  hit.panel.content.activeCellIndex = hit.index;
  await commands.execute(CREATE_OUTPUT_VIEW, { path: hit.panel.context.path, index: hit.index });
  return true;
}

/** Listens on `doc` and sets the marker the widgets look for; returns the undo (for tests). */
export function listenForOpenInTab(doc: Document, tracker: TrackerLike, commands: CommandsLike): () => void {
  const onEvent = (event: Event): void => {
    event.stopPropagation();
    openWidgetInTab(tracker, commands, event.target).catch((e) => console.error('LensLab: could not open the widget in a tab', e));
  };
  doc.addEventListener(OPEN_IN_TAB_EVENT, onEvent);
  doc.body.dataset[OPEN_IN_TAB_MARKER] = '1';
  return () => {
    doc.removeEventListener(OPEN_IN_TAB_EVENT, onEvent);
    delete doc.body.dataset[OPEN_IN_TAB_MARKER];
  };
}

/** The parts of CommandRegistry that tell whether, and when, a command exists. */
export interface RegistryLike extends CommandsLike {
  hasCommand(id: string): boolean;
  readonly commandChanged: ISignal<unknown, { id?: string; type: string }>;
}

/**
 * Listens (and so shows the widgets' button) only once CREATE_OUTPUT_VIEW exists: Notebook 7
 * loads this extension but has no such command, and a button that does nothing would mislead.
 * The command normally is there already or arrives while plugins activate, before outputs render.
 */
export function listenWhenAvailable(doc: Document, tracker: TrackerLike, commands: RegistryLike): () => void {
  let undo: (() => void) | null = null;
  const start = (): void => {
    if (!undo && commands.hasCommand(CREATE_OUTPUT_VIEW)) undo = listenForOpenInTab(doc, tracker, commands);
  };
  const onChanged = (_: unknown, change: { id?: string }): void => {
    if (change.id === CREATE_OUTPUT_VIEW) start();
  };
  commands.commandChanged.connect(onChanged);
  start();
  return () => {
    commands.commandChanged.disconnect(onChanged);
    undo?.();
  };
}

export const widgetOpenInTabPlugin: JupyterFrontEndPlugin<void> = {
  id: 'lenslab:widget-open-in-tab',
  description: "Lets a LensLab widget's toolbar open its cell output in a main-area tab.",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    listenWhenAvailable(document, tracker, app.commands);
  }
};
