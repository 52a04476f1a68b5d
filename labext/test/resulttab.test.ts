// "Open in tab" (labext/src/resulttab.ts): one MainAreaWidget per job, the widget rendered into it.
import { describe, expect, it, vi } from 'vitest';
import { Widget } from '@lumino/widgets';
import { createResultTab, resultTabId } from '../src/resulttab';

// @jupyterlab/apputils does not load under happy-dom (its web components are ESM-only CSS
// imports); a Lumino panel holding the content stands in for MainAreaWidget.
vi.mock('@jupyterlab/apputils', async () => {
  const { Panel } = await import('@lumino/widgets');
  class MainAreaWidget extends Panel {
    readonly content: Widget;
    constructor(options: { content: Widget }) {
      super();
      this.content = options.content;
      this.addWidget(options.content);
    }
  }
  return { MainAreaWidget };
});

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('createResultTab', () => {
  it('is named by the job and shows the rendered widget, which goes when the tab closes', async () => {
    const calls: [string, HTMLElement][] = [];
    let disposed = 0;
    const tab = createResultTab(3, 'LensLab job 3', 'the prompts', 'widget-3', async (id, host) => {
      calls.push([id, host]);
      host.append(Object.assign(document.createElement('div'), { className: 'lenslab-patching' }));
      return { dispose: () => void disposed++, isDisposed: false };
    });
    Widget.attach(tab, document.body);
    await settle();
    expect(tab.id).toBe(resultTabId(3));
    expect(tab.id).toBe('lenslab-result-3');
    expect([tab.title.label, tab.title.caption, tab.title.closable]).toEqual(['LensLab job 3', 'the prompts', true]);
    expect(calls.map(([id]) => id)).toEqual(['widget-3']);
    expect(tab.content.node.contains(calls[0][1])).toBe(true);
    expect(tab.node.querySelector('.lenslab-result-tab .lenslab-patching')).toBeTruthy();
    tab.dispose();
    expect(disposed).toBe(1);
  });

  it('says why when the widget cannot be shown', async () => {
    const tab = createResultTab(4, 'LensLab job 4', '', 'gone', async () => {
      throw new Error('the widget model is not in this notebook');
    });
    Widget.attach(tab, document.body);
    await settle();
    expect(tab.content.node.textContent).toBe('The result could not be shown here: Error: the widget model is not in this notebook');
    tab.dispose();
  });

  it('disposes a view that arrives after the tab was closed', async () => {
    let disposed = 0;
    let finish: () => void = () => undefined;
    const tab = createResultTab(5, 'LensLab job 5', '', 'w', () =>
      new Promise((resolve) => {
        finish = () => resolve({ dispose: () => void disposed++, isDisposed: false });
      })
    );
    tab.dispose();
    finish();
    await settle();
    expect(disposed).toBe(1);
  });
});
