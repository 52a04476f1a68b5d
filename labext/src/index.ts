// Wiring only: the sidebar panel, its model and kernel bridge, the notebook tracker, commands.
import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Clipboard, ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, type NotebookPanel } from '@jupyterlab/notebook';
import { MimeModel } from '@jupyterlab/rendermime';
import { LabIcon } from '@jupyterlab/ui-components';
import type { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';
import { SidebarPanel } from './components/panel';
import { createResultTab, resultTabId } from './resulttab';
import { KernelBridge } from './kernel';
import { SidebarModel } from './model';
import { staticFallbackPlugin } from './static_fallback';
import { widgetOpenInTabPlugin } from './widget_open_in_tab';
import { CommandIDs, ICON_SVG, ILensLabSidebar, PLUGIN_ID, SIDEBAR_ID, WIDGET_VIEW_MIMETYPE } from './tokens';

const lenslabIcon = new LabIcon({ name: 'lenslab:sidebar', svgstr: ICON_SVG });

/** Shows the kernel's widget `modelId` through the notebook's widget manager (ipywidgets). */
async function renderWidget(notebook: NotebookPanel | null, modelId: string, host: HTMLElement): Promise<IDisposable> {
  const rendermime = notebook?.content.rendermime;
  if (!rendermime || !rendermime.mimeTypes.includes(WIDGET_VIEW_MIMETYPE)) {
    throw new Error('this notebook has no widget manager (is jupyterlab_widgets installed?)');
  }
  const renderer = rendermime.createRenderer(WIDGET_VIEW_MIMETYPE);
  await renderer.renderModel(new MimeModel({ data: { [WIDGET_VIEW_MIMETYPE]: { model_id: modelId, version_major: 2, version_minor: 1 } } }));
  if (renderer.node.textContent?.startsWith('Error displaying widget')) {
    renderer.dispose();
    throw new Error('the widget model is not in this notebook');
  }
  Widget.attach(renderer, host);
  return renderer;
}

/** Inserts `code` as a new cell below the notebook's active cell. */
function insertCode(app: JupyterFrontEnd, notebook: NotebookPanel | null, code: string): boolean {
  if (!notebook?.content.model) return false;
  NotebookActions.insertBelow(notebook.content);
  const cell = notebook.content.activeCell;
  if (!cell) return false;
  cell.model.sharedModel.setSource(code);
  app.shell.activateById(notebook.id);
  return true;
}

const plugin: JupyterFrontEndPlugin<ILensLabSidebar> = {
  id: PLUGIN_ID,
  description: 'Browse the hook points of the models in the notebook kernel and launch activation-patching jobs.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette],
  provides: ILensLabSidebar,
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, restorer: ILayoutRestorer | null, palette: ICommandPalette | null) => {
    const model = new SidebarModel();
    const bridge = new KernelBridge(model);
    const panel = new SidebarPanel(model, {
      renderWidget: (modelId, host) => renderWidget(tracker.currentWidget, modelId, host),
      insertCode: (code) => insertCode(app, tracker.currentWidget, code),
      copy: (text) => Clipboard.copyToSystem(text),
      openInTab: (jobId, modelId, label, caption) => {
        const notebook = tracker.currentWidget;
        if (!Array.from(app.shell.widgets('main')).some((w) => w.id === resultTabId(jobId))) {
          app.shell.add(createResultTab(jobId, label, caption, modelId, (id, host) => renderWidget(notebook, id, host)), 'main');
        }
        app.shell.activateById(resultTabId(jobId));
      },
      reconnect: () => bridge.connect(),
      setVisible: (visible) => bridge.setActive(visible)
    });
    panel.id = SIDEBAR_ID;
    panel.title.icon = lenslabIcon;
    panel.title.caption = 'LensLab: hook points and patch jobs';
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, SIDEBAR_ID);

    // Follow the active notebook (and, through its session context, its kernel).
    const follow = (): void => {
      const notebook = tracker.currentWidget;
      bridge.setSession(notebook ? notebook.sessionContext : null, notebook ? notebook.title.label : '');
    };
    tracker.currentChanged.connect(follow);
    follow();

    app.commands.addCommand(CommandIDs.open, {
      label: 'Show the LensLab sidebar',
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    palette?.addItem({ command: CommandIDs.open, category: 'LensLab' });
    return { model, panel };
  }
};

export default [plugin, staticFallbackPlugin, widgetOpenInTabPlugin];
