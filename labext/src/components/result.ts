// The shown job's result: the PatchingGrid widget itself (rendered by the notebook's widget
// manager from the kernel-side model), or a plain table of the same values when it cannot be.
import type { IDisposable } from '@lumino/disposable';
import type { SidebarModel } from '../model';
import type { Result } from '../protocol';
import { keepFitted } from '../fit';
import { button, el, section } from './dom';
import { jobTitle, jobTooltip } from './jobs';

/** Renders the ipywidget with this model id into `host`; rejects when it cannot. */
export type WidgetRenderer = (modelId: string, host: HTMLElement) => Promise<IDisposable>;

/** Opens the job's result widget in a main-area tab at full size. */
export type TabOpener = (jobId: number, modelId: string, label: string, caption: string) => void;

const MAX_TABLE_CELLS = 4000;

/** `flat` as an index into an array of `sizes` (C order). */
export function unravel(flat: number, sizes: readonly number[]): number[] {
  const index = new Array<number>(sizes.length);
  for (let i = sizes.length - 1; i >= 0; i--) {
    index[i] = flat % sizes[i];
    flat = Math.floor(flat / sizes[i]);
  }
  return index;
}

/** Rows of a result for the fallback table: the last axis across, the others flattened into labelled rows. */
export function tableRows(result: Pick<Result, 'shape' | 'values'>): { label: string; values: (number | null)[] }[] {
  const { shape, values } = result;
  const cols = shape.length ? shape[shape.length - 1] : 1;
  const lead = shape.slice(0, -1);
  const rows: { label: string; values: (number | null)[] }[] = [];
  for (let start = 0, r = 0; start < values.length && cols > 0; start += cols, r++) {
    rows.push({ label: unravel(r, lead).join(','), values: values.slice(start, start + cols) });
  }
  return rows;
}

function colour(value: number | null, vmax: number): string {
  if (value === null || vmax === 0) return 'transparent';
  const t = Math.max(-1, Math.min(1, value / vmax));
  const hue = t >= 0 ? '0, 90%' : '220, 90%';
  return `hsla(${hue}, 50%, ${Math.abs(t) * 0.85})`;
}

export class ResultView {
  readonly node: HTMLElement;

  constructor(
    private readonly _model: SidebarModel,
    private readonly _render: WidgetRenderer | null,
    private readonly _insert: (code: string) => void,
    private readonly _openTab: TabOpener | null = null
  ) {
    this._header = el('div', { class: 'lenslab-sb-result-title' });
    this._metrics = el('div', { class: 'lenslab-sb-result-metrics' });
    // The widget is laid out in _host at its own width and scaled to the panel's (fit.ts).
    this._host = el('div', { class: 'lenslab-sb-grid-inner' });
    this._frame = el('div', { class: 'lenslab-sb-grid' }, this._host);
    this._fallback = el('div', { class: 'lenslab-sb-fallback' });
    this._insertButton = button('Insert as code', () => this._insertShown(), { class: 'lenslab-sb-button lenslab-sb-insert-code' });
    this._tabButton = button('Open in tab', () => this._openShown(), {
      class: 'lenslab-sb-button lenslab-sb-open-tab',
      title: 'Show this result at full size in a main-area tab'
    });
    this._body = el(
      'div',
      { class: 'lenslab-sb-result' },
      this._header,
      this._metrics,
      this._frame,
      this._fallback,
      el('div', { class: 'lenslab-sb-actions' }, this._tabButton, this._insertButton, button('Close', () => this._model.hideResult(), { class: 'lenslab-sb-button lenslab-sb-close' }))
    );
    this.node = section('Result', 'lenslab-sb-result-section', this._body);
  }

  update(): void {
    const job = this._model.shownJob;
    const result = job?.result ?? null;
    this.node.hidden = result === null;
    if (result === this._current) return;
    this._current = result;
    this._clear();
    if (!job || !result) return;
    this._body.dataset.jobId = String(result.job.job_id);
    this._body.dataset.shape = JSON.stringify(result.shape);
    this._body.dataset.values = JSON.stringify(result.values);
    this._header.textContent = jobTitle(job, this._model);
    this._header.title = jobTooltip(job, this._model);
    const fmt = (x: number | null): string => (x === null ? '?' : x.toPrecision(4));
    this._metrics.textContent = `metric: clean ${fmt(result.clean_metric)}, corrupted ${fmt(result.corrupted_metric)}`;
    const id = result.widget_model_id;
    this._tabButton.hidden = !(id && this._render && this._openTab);
    if (id && this._render) {
      const ticket = ++this._ticket;
      this._render(id, this._host).then(
        (view) => {
          if (ticket !== this._ticket) {
            view.dispose();
            return;
          }
          this._view = view;
          this._unfit = keepFitted(this._frame, this._host);
        },
        (reason) => {
          if (ticket === this._ticket) this._showTable(result, `the PatchingGrid widget could not be shown here (${String(reason)})`);
        }
      );
    } else {
      this._showTable(result, id ? 'no widget manager in this notebook' : 'the kernel could not build the PatchingGrid widget');
    }
  }

  dispose(): void {
    this._clear();
  }

  private _insertShown(): void {
    const code = this._current?.code;
    if (code) this._insert(code);
  }

  private _openShown(): void {
    const job = this._model.shownJob;
    const id = this._current?.widget_model_id;
    if (!job || !id || !this._openTab) return;
    this._openTab(job.record.job_id, id, `LensLab job ${job.record.job_id}`, jobTooltip(job, this._model));
  }

  private _clear(): void {
    this._ticket++;
    this._unfit?.();
    this._unfit = null;
    this._frame.style.height = '';
    this._view?.dispose();
    this._view = null;
    this._host.replaceChildren();
    this._fallback.replaceChildren();
    this._fallback.hidden = true;
  }

  /** The same values as a coloured table (diverging around zero), with the reason. */
  private _showTable(result: Result, why: string): void {
    this._fallback.hidden = false;
    const note = el('p', { class: 'lenslab-sb-note', text: `Values shown as a table: ${why}.` });
    if (!result.values.length || result.values.length > MAX_TABLE_CELLS) {
      this._fallback.replaceChildren(note, el('p', { text: `shape [${result.shape.join(', ')}]; too many values for a table.` }));
      return;
    }
    const vmax = Math.max(0, ...result.values.map((v) => (v === null ? 0 : Math.abs(v))));
    const table = el('table', { class: 'lenslab-sb-table' });
    for (const row of tableRows(result)) {
      const tr = el('tr', {}, el('th', { text: row.label }));
      for (const v of row.values) {
        const td = el('td', { text: v === null ? '' : v.toFixed(2), title: v === null ? 'NaN' : String(v) });
        td.style.background = colour(v, vmax);
        tr.append(td);
      }
      table.append(tr);
    }
    this._fallback.replaceChildren(note, table);
  }

  private _header: HTMLElement;
  private _metrics: HTMLElement;
  private _host: HTMLElement;
  private _fallback: HTMLElement;
  private _body: HTMLElement;
  private _insertButton: HTMLButtonElement;
  private _tabButton: HTMLButtonElement;
  private _frame: HTMLElement;
  private _unfit: (() => void) | null = null;
  private _current: Result | null = null;
  private _view: IDisposable | null = null;
  private _ticket = 0;
}
