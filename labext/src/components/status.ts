// The panel's header: which notebook, whether its kernel answers, and the kernel's notices.
import type { SidebarModel } from '../model';
import { button, el, renderIfChanged } from './dom';

const MESSAGES: Record<string, string> = {
  'no-notebook': 'Open a notebook to browse its models.',
  'no-kernel': 'This notebook has no running kernel.',
  connecting: 'Connecting to the kernel… (it answers once the running cell, if any, finishes)',
  connected: 'Connected',
  'not-imported': 'LensLab is not imported in this kernel. Run "import lenslab" (or "%load_ext lenslab") in the notebook.',
  restarting: 'The kernel is restarting: its jobs and results are gone.',
  disconnected: 'The kernel closed the connection.',
  incompatible: 'The kernel and this panel run different LensLab versions.'
};

export class StatusView {
  readonly node: HTMLElement;

  constructor(private readonly _model: SidebarModel, reconnect: () => void) {
    this._text = el('div', { class: 'lenslab-sb-status-text' });
    this._retry = button('Retry', reconnect, { class: 'lenslab-sb-button lenslab-sb-retry', title: 'Open the connection again' });
    this._refresh = button('Refresh', () => this._model.refresh(), { class: 'lenslab-sb-button lenslab-sb-refresh', title: 'Reload models and jobs' });
    this._notices = el('div', { class: 'lenslab-sb-notices' });
    this.node = el(
      'header',
      { class: 'lenslab-sb-header' },
      el('div', { class: 'lenslab-sb-title' }, el('span', { class: 'lenslab-sb-logo', text: 'LensLab' }), this._refresh),
      el('div', { class: 'lenslab-sb-status', role: 'status' }, this._text, this._retry),
      this._notices
    );
  }

  update(): void {
    const m = this._model;
    const state = m.connection;
    const base = MESSAGES[state] ?? state;
    const where = m.notebook ? `${m.notebook}: ` : '';
    const version = state === 'connected' && m.lenslabVersion ? ` · lenslab ${m.lenslabVersion}` : '';
    const detail = m.connectionDetail ? ` (${m.connectionDetail})` : '';
    this._text.textContent = `${where}${base}${version}${detail}`;
    this.node.dataset.state = state;
    this._retry.hidden = !['not-imported', 'disconnected', 'incompatible', 'no-kernel'].includes(state);
    this._refresh.disabled = state !== 'connected';
    renderIfChanged(this._notices, JSON.stringify(m.notices), () =>
      m.notices.map((n, i) =>
        el(
          'div',
          { class: 'lenslab-sb-notice', role: 'alert', 'data-code': n.code },
          el('span', { text: `${n.requestType ? `${n.requestType}: ` : ''}${n.message}` }),
          button('×', () => m.dismissNotice(i), { class: 'lenslab-sb-button lenslab-sb-dismiss', title: 'Dismiss', 'aria-label': 'Dismiss' })
        )
      )
    );
  }

  private _text: HTMLElement;
  private _retry: HTMLButtonElement;
  private _refresh: HTMLButtonElement;
  private _notices: HTMLElement;
}
