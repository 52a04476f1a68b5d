// Static copies of LensLab widgets in JupyterLab. Each widget output carries, beside the widget
// view, a static picture as text/html (py_src/lenslab/widgets/_static.py). JupyterLab renders only
// one mime type per output and prefers the widget view, so a notebook reopened without its kernel
// would show "Error displaying widget: model not found". This wraps the notebook's widget-view
// renderer: the static copy is rendered first, and CSS (style/static_fallback.css) hides it as soon
// as the live widget (.lenslab-widget) appears inside the same output, so it never shows twice.
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel } from '@lumino/widgets';
import { WIDGET_VIEW_MIMETYPE } from './tokens';

/** The class of the outer element of every static copy (python: _static.STATIC_CLASS). */
export const STATIC_CLASS = 'lenslab-static';
export const HOST_CLASS = 'lenslab-fallback-host';
export const STATIC_HOST_CLASS = 'lenslab-static-host';
/** Set on the host while a static copy is rendered (the CSS hides the widget's placeholder text then). */
export const HAS_STATIC_CLASS = 'lenslab-mod-static';

/** The output's text/html when it is a LensLab static copy, else null. */
export function staticCopy(data: IRenderMime.IMimeModel['data']): string | null {
  const raw = data['text/html'] as unknown;
  const html = Array.isArray(raw) ? raw.join('') : raw;
  return typeof html === 'string' && html.includes(`class="${STATIC_CLASS}"`) ? html : null;
}

type CreateRenderer = (mimeType: string) => IRenderMime.IRenderer;

/** A widget-view renderer plus, when the output has one, its static copy rendered as HTML. */
export class WithStaticCopy extends Panel implements IRenderMime.IRenderer {
  readonly inner: IRenderMime.IRenderer;
  private readonly create: CreateRenderer;
  private staticView: IRenderMime.IRenderer | null = null;

  constructor(inner: IRenderMime.IRenderer, create: CreateRenderer) {
    super();
    this.inner = inner;
    this.create = create;
    this.addClass(HOST_CLASS);
    this.addWidget(inner);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const html = staticCopy(model.data);
    if (html !== null) {
      if (!this.staticView) {
        this.staticView = this.create('text/html');
        this.staticView.addClass(STATIC_HOST_CLASS);
        this.insertWidget(0, this.staticView);
      }
      // The same trust as the output: JupyterLab sanitizes an untrusted copy as it would any HTML.
      const htmlModel: IRenderMime.IMimeModel = {
        trusted: model.trusted,
        data: { 'text/html': html },
        metadata: {},
        setData: () => undefined
      };
      await this.staticView.renderModel(htmlModel);
      this.addClass(HAS_STATIC_CLASS);
    }
    await this.inner.renderModel(model);
  }
}

const wrapped = new WeakSet<object>();

/** Makes `registry` wrap every widget-view renderer it creates (idempotent). */
export function wrapWidgetViews(registry: { createRenderer: CreateRenderer }): void {
  if (wrapped.has(registry)) return;
  wrapped.add(registry);
  const create = registry.createRenderer.bind(registry);
  // Looked up at call time, so it does not matter whether ipywidgets registered its factory yet.
  registry.createRenderer = (mimeType: string) => {
    const renderer = create(mimeType);
    return mimeType === WIDGET_VIEW_MIMETYPE ? new WithStaticCopy(renderer, create) : renderer;
  };
}

export const staticFallbackPlugin: JupyterFrontEndPlugin<void> = {
  id: 'lenslab:static-fallback',
  description: 'Shows the static copy of a LensLab widget when its live model is missing (a saved notebook reopened).',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    // A widget extension runs when each notebook panel is created, before its cells render.
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => wrapWidgetViews(panel.content.rendermime)
    });
  }
};
