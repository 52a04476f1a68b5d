// "Open in tab": a job's result widget in a JupyterLab main-area tab at full size, one tab per
// job (opening it again brings the tab forward).
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

export type Renderer = (modelId: string, host: HTMLElement) => Promise<IDisposable>;

/** The tab's widget id for a job (also how an open tab is found again). */
export function resultTabId(jobId: number): string {
  return `lenslab-result-${jobId}`;
}

/** A tab showing widget `modelId`, rendered by `render` into its content; the view goes with it. */
export function createResultTab(jobId: number, label: string, caption: string, modelId: string, render: Renderer): MainAreaWidget {
  const content = new Widget();
  content.addClass('lenslab-result-tab');
  const host = document.createElement('div');
  host.className = 'lenslab-result-tab-host';
  content.node.append(host);
  const tab = new MainAreaWidget({ content });
  tab.id = resultTabId(jobId);
  tab.title.label = label;
  tab.title.caption = caption;
  tab.title.closable = true;
  let view: IDisposable | null = null;
  render(modelId, host).then(
    (v) => {
      if (tab.isDisposed) v.dispose();
      else view = v;
    },
    (reason) => {
      host.textContent = `The result could not be shown here: ${String(reason)}`;
    }
  );
  tab.disposed.connect(() => view?.dispose());
  return tab;
}
