// Job history while the kernel lives: progress and cancel for running jobs; show, insert as
// code, re-run or edit finished ones.
import type { JobView, SidebarModel } from '../model';
import { button, el, renderIfChanged, section } from './dom';

/** `#3 model: Attention heads, all positions · Logit difference scaled to corrupted = 0, clean = 1`:
 *  the whole kind and metric labels (the panel wraps the title rather than cutting it). */
export function jobTitle(job: JobView, model: SidebarModel): string {
  const spec = job.record.spec;
  const kind = model.patchKinds.find((k) => k.name === spec.kind)?.label ?? spec.kind;
  const metric = model.metrics.find((x) => x.name === spec.metric)?.label ?? spec.metric;
  return `#${job.record.job_id} ${spec.model}: ${kind} · ${metric}`;
}

/** The job title's tooltip: the title, then the prompts and answers it ran on. */
export function jobTooltip(job: JobView, model: SidebarModel): string {
  const s = job.record.spec;
  const answers = s.incorrect_answer ? `${JSON.stringify(s.correct_answer)} vs ${JSON.stringify(s.incorrect_answer)}` : JSON.stringify(s.correct_answer);
  return `${jobTitle(job, model)}\nclean: ${JSON.stringify(s.clean_prompt)}\ncorrupted: ${JSON.stringify(s.corrupted_prompt)}\nanswers: ${answers}`;
}

function statusText(job: JobView): string {
  const r = job.record;
  switch (r.status) {
    case 'queued':
      return 'queued';
    case 'running':
      return `${r.done} / ${r.total} patched runs`;
    case 'done':
      return `done: ${r.total} runs in ${r.elapsed_s?.toFixed(2) ?? '?'} s`;
    case 'cancelled':
      return `cancelled after ${r.done} of ${r.total} runs`;
    case 'failed':
      return `failed: ${r.message ?? 'unknown error'}`;
  }
}

export class JobsView {
  readonly node: HTMLElement;

  constructor(
    private readonly _model: SidebarModel,
    private readonly _insert: (code: string) => void
  ) {
    this._list = el('ol', { class: 'lenslab-sb-jobs', 'aria-label': 'Jobs' });
    this.node = section('Jobs', 'lenslab-sb-jobs-section', this._list);
  }

  update(): void {
    const m = this._model;
    const jobs = m.jobs;
    const key = JSON.stringify([jobs.map((j) => [j.record, !!j.result, j.progressUpdates]), m.shownJob?.record.job_id ?? null]);
    renderIfChanged(this._list, key, () => {
      if (!jobs.length) return [el('li', { class: 'lenslab-sb-empty', text: 'No jobs yet in this kernel.' })];
      return jobs.map((job) => this._item(job, job.record.job_id === m.shownJob?.record.job_id));
    });
  }

  private _item(job: JobView, shown: boolean): HTMLElement {
    const m = this._model;
    const r = job.record;
    const running = r.status === 'queued' || r.status === 'running';
    const item = el(
      'li',
      {
        class: `lenslab-sb-job${shown ? ' lenslab-sb-selected' : ''}`,
        'data-job-id': r.job_id,
        'data-status': r.status,
        'data-progress-updates': job.progressUpdates
      },
      el('div', { class: 'lenslab-sb-job-title', text: jobTitle(job, m), title: jobTooltip(job, m) }),
      el('div', { class: 'lenslab-sb-job-status', text: statusText(job) })
    );
    if (running) {
      const bar = el('progress', { class: 'lenslab-sb-progress', max: Math.max(1, r.total), 'aria-label': `Job ${r.job_id} progress` });
      bar.value = r.done;
      item.append(bar);
      item.append(el('div', { class: 'lenslab-sb-actions' }, button('Cancel', () => m.cancel(r.job_id), { class: 'lenslab-sb-button lenslab-sb-cancel' })));
      return item;
    }
    const actions = el('div', { class: 'lenslab-sb-actions' });
    if (r.status === 'done') {
      actions.append(button(shown ? 'Shown' : 'Show', () => m.showResult(r.job_id), { class: 'lenslab-sb-button lenslab-sb-show', disabled: shown }));
      if (job.result) {
        const code = job.result.code;
        actions.append(button('Insert as code', () => this._insert(code), { class: 'lenslab-sb-button lenslab-sb-insert' }));
      }
    }
    actions.append(
      button('Re-run', () => m.rerun(r.job_id), { class: 'lenslab-sb-button lenslab-sb-rerun' }),
      button('Edit', () => m.editJob(r.job_id), { class: 'lenslab-sb-button lenslab-sb-edit', title: 'Copy this job into the form' })
    );
    item.append(actions);
    return item;
  }

  private _list: HTMLElement;
}
