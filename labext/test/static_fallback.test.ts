// The static-copy wrapper around the widget-view renderer: the copy renders before the widget,
// only LensLab copies are picked up, and wrapping a registry is idempotent and type-selective.
import { describe, expect, it } from 'vitest';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { HAS_STATIC_CLASS, HOST_CLASS, STATIC_HOST_CLASS, WithStaticCopy, staticCopy, wrapWidgetViews } from '../src/static_fallback';
import { WIDGET_VIEW_MIMETYPE } from '../src/tokens';

const STATIC = '<div class="lenslab-static" data-lenslab-static="PatchingGrid"><svg><text>L0</text></svg></div>';
const VIEW = { model_id: 'abc', version_major: 2, version_minor: 1 };

class FakeRenderer extends Widget implements IRenderMime.IRenderer {
  log: string[];
  constructor(
    readonly mimeType: string,
    log: string[]
  ) {
    super();
    this.log = log;
  }
  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.log.push(`${this.mimeType}:${model.trusted}`);
    if (this.mimeType === 'text/html') this.node.innerHTML = String(model.data['text/html']);
    else this.node.textContent = 'Error displaying widget: model not found';
  }
}

function mime(data: Record<string, unknown>, trusted = true): IRenderMime.IMimeModel {
  return { trusted, data: data as IRenderMime.IMimeModel['data'], metadata: {}, setData: () => undefined };
}

describe('staticCopy', () => {
  it('finds a LensLab static copy, as a string or as nbformat line list', () => {
    expect(staticCopy({ 'text/html': STATIC })).toBe(STATIC);
    expect(staticCopy({ 'text/html': [STATIC.slice(0, 20), STATIC.slice(20)] } as never)).toBe(STATIC);
  });
  it('ignores other HTML and outputs without HTML', () => {
    expect(staticCopy({ 'text/html': '<b>plotly</b>' })).toBeNull();
    expect(staticCopy({ 'text/plain': 'x' })).toBeNull();
  });
});

describe('WithStaticCopy', () => {
  it('renders the static copy (same trust) before the widget view', async () => {
    const log: string[] = [];
    const host = new WithStaticCopy(new FakeRenderer(WIDGET_VIEW_MIMETYPE, log), (t) => new FakeRenderer(t, log));
    await host.renderModel(mime({ [WIDGET_VIEW_MIMETYPE]: VIEW, 'text/html': STATIC }, false));
    expect(log).toEqual(['text/html:false', `${WIDGET_VIEW_MIMETYPE}:false`]);
    expect(host.hasClass(HOST_CLASS) && host.hasClass(HAS_STATIC_CLASS)).toBe(true);
    const first = host.node.firstElementChild as HTMLElement;
    expect(first.classList.contains(STATIC_HOST_CLASS)).toBe(true);
    expect(first.querySelector('.lenslab-static text')?.textContent).toBe('L0');
    // Re-rendering reuses the one static view.
    await host.renderModel(mime({ [WIDGET_VIEW_MIMETYPE]: VIEW, 'text/html': STATIC }));
    expect(host.node.querySelectorAll(`.${STATIC_HOST_CLASS}`).length).toBe(1);
  });

  it('is only the widget view when the output has no static copy', async () => {
    const log: string[] = [];
    const host = new WithStaticCopy(new FakeRenderer(WIDGET_VIEW_MIMETYPE, log), (t) => new FakeRenderer(t, log));
    await host.renderModel(mime({ [WIDGET_VIEW_MIMETYPE]: VIEW, 'text/html': '<b>other</b>' }));
    expect(log).toEqual([`${WIDGET_VIEW_MIMETYPE}:true`]);
    expect(host.hasClass(HAS_STATIC_CLASS)).toBe(false);
    expect(host.widgets.length).toBe(1);
  });
});

describe('wrapWidgetViews', () => {
  it('wraps widget-view renderers only, once per registry', () => {
    const log: string[] = [];
    const registry = { createRenderer: (t: string): IRenderMime.IRenderer => new FakeRenderer(t, log) };
    wrapWidgetViews(registry);
    const patched = registry.createRenderer;
    wrapWidgetViews(registry);
    expect(registry.createRenderer).toBe(patched);
    const view = registry.createRenderer(WIDGET_VIEW_MIMETYPE);
    expect(view).toBeInstanceOf(WithStaticCopy);
    expect((view as WithStaticCopy).inner).toBeInstanceOf(FakeRenderer);
    expect(registry.createRenderer('text/html')).toBeInstanceOf(FakeRenderer);
  });
});
