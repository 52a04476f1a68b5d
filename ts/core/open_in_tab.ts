// The one contract between a widget's "Open in tab" button (js/) and the JupyterLab plugin that
// answers it (labext/src/widget_open_in_tab.ts). A widget has no handle on the JupyterLab app, so
// it asks through the DOM: a bubbling event from its own element, which the plugin hears on document.

/** The event a widget dispatches (bubbling, composed) from its element to ask for a main-area tab. */
export const OPEN_IN_TAB_EVENT = 'lenslab:open-in-tab';

/**
 * The `document.body.dataset` key the plugin sets to "1" once it listens; the widgets show the
 * button only then (outside JupyterLab, e.g. VS Code or classic notebook, nobody would answer).
 */
export const OPEN_IN_TAB_MARKER = 'lenslabOpenInTab';

/** Whether a listener for OPEN_IN_TAB_EVENT is installed in this page. */
export function openInTabAvailable(doc: Document = document): boolean {
  return doc.body?.dataset[OPEN_IN_TAB_MARKER] === '1';
}
