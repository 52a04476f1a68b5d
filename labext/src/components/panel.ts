// The left-sidebar widget: status, models, hook tree, patch form, jobs and the shown result.
import { Widget } from '@lumino/widgets';
import type { SidebarModel } from '../model';
import { el } from './dom';
import { FormView } from './form';
import { HooksView } from './hooks';
import { JobsView } from './jobs';
import { ModelsView } from './models';
import { ResultView, type TabOpener, type WidgetRenderer } from './result';
import { StatusView } from './status';

/** What the panel needs from JupyterLab (index.ts provides it; the tests pass fakes). */
export interface PanelServices {
  /** Renders a kernel widget (the PatchingGrid) by model id, or null when there is no widget manager. */
  renderWidget: WidgetRenderer | null;
  /** Inserts a code cell below the active cell of the notebook; false when there is none. */
  insertCode(code: string): boolean;
  copy(text: string): void;
  /** Opens a job's result widget in a main-area tab (absent: no "Open in tab" button). */
  openInTab?: TabOpener;
  reconnect(): void;
  /** Called when the panel is shown or hidden. */
  setVisible?(visible: boolean): void;
}

const TOAST_MS = 2500;

export class SidebarPanel extends Widget {
  constructor(
    private readonly _model: SidebarModel,
    private readonly _services: PanelServices
  ) {
    super();
    this.addClass('lenslab-sidebar');
    this._toast = el('div', { class: 'lenslab-sb-toast', role: 'status', 'aria-live': 'polite' });
    this._toast.hidden = true;
    const insert = (code: string): void => {
      this.toast(this._services.insertCode(code) ? 'Inserted a code cell below the active cell.' : 'Open a notebook to insert the code into.');
    };
    const copy = (text: string): void => {
      this._services.copy(text);
      this.toast(`Copied ${text}`);
    };
    this._status = new StatusView(_model, () => this._services.reconnect());
    this._models = new ModelsView(_model);
    this._hooks = new HooksView(_model, copy);
    this._form = new FormView(_model);
    this._jobs = new JobsView(_model, insert);
    this._result = new ResultView(_model, _services.renderWidget, insert, _services.openInTab ?? null);
    this.node.append(
      this._status.node,
      this._toast,
      el('div', { class: 'lenslab-sb-body' }, this._models.node, this._hooks.node, this._form.node, this._jobs.node, this._result.node)
    );
    _model.changed.connect(this._update, this);
    this._update();
  }

  /** A short message under the header. */
  toast(text: string): void {
    this._toast.textContent = text;
    this._toast.hidden = false;
    if (this._toastTimer !== null) clearTimeout(this._toastTimer);
    this._toastTimer = setTimeout(() => {
      this._toast.hidden = true;
      this._toastTimer = null;
    }, TOAST_MS);
  }

  dispose(): void {
    if (this.isDisposed) return;
    this._model.changed.disconnect(this._update, this);
    this._result.dispose();
    if (this._toastTimer !== null) clearTimeout(this._toastTimer);
    super.dispose();
  }

  protected onAfterShow(): void {
    this._services.setVisible?.(true);
  }

  protected onAfterHide(): void {
    this._services.setVisible?.(false);
  }

  private _update(): void {
    this.node.dataset.state = this._model.connection;
    this._status.update();
    this._models.update();
    this._hooks.update();
    this._form.update();
    this._jobs.update();
    this._result.update();
  }

  private _toast: HTMLElement;
  private _toastTimer: ReturnType<typeof setTimeout> | null = null;
  private _status: StatusView;
  private _models: ModelsView;
  private _hooks: HooksView;
  private _form: FormView;
  private _jobs: JobsView;
  private _result: ResultView;
}
