// The patch-job form: model, prompts, answers, metric and patch kind, with the kernel's
// token counts checked before the Run button enables.
import { EXAMPLE_JOB } from '../examples';
import type { FormState, SidebarModel } from '../model';
import { modelLabel } from './models';
import { button, el, renderIfChanged, section } from './dom';

type TextField = 'clean' | 'corrupted' | 'correct' | 'incorrect';

export class FormView {
  readonly node: HTMLElement;

  constructor(private readonly _model: SidebarModel) {
    this._modelSelect = this._select('model', 'Model');
    this._kindSelect = this._select('kind', 'Patch kind');
    this._metricSelect = this._select('metric', 'Metric');
    this._text.clean = this._textarea('clean', 'Clean prompt', EXAMPLE_JOB.clean);
    this._text.corrupted = this._textarea('corrupted', 'Corrupted prompt', EXAMPLE_JOB.corrupted);
    this._text.correct = this._input('correct', 'Correct answer', EXAMPLE_JOB.correct);
    this._text.incorrect = this._input('incorrect', 'Incorrect answer', EXAMPLE_JOB.incorrect);
    const example = button('Use the example', () => this._model.updateForm({ ...EXAMPLE_JOB }), {
      class: 'lenslab-sb-button lenslab-sb-example',
      title: 'Fill in the example job (Python source, as the embedded models were trained on)'
    });
    this._check = el('ul', { class: 'lenslab-sb-check', 'aria-live': 'polite' });
    this._error = el('div', { class: 'lenslab-sb-submit-error', role: 'alert' });
    this._run = button('Run patch job', () => this._model.submit(), { class: 'lenslab-sb-button lenslab-sb-run' });
    const form = el(
      'form',
      { class: 'lenslab-sb-form', 'aria-label': 'Patch job' },
      this._field('Model', this._modelSelect),
      example,
      this._field('Clean prompt', this._text.clean),
      this._field('Corrupted prompt', this._text.corrupted),
      el('div', { class: 'lenslab-sb-answers' }, this._field('Correct answer', this._text.correct), this._field('Incorrect answer', this._text.incorrect)),
      this._field('Metric', this._metricSelect),
      this._field('Patch', this._kindSelect),
      this._check,
      this._error,
      this._run
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this._model.submit();
    });
    this.node = section('Patch job', 'lenslab-sb-form-section', form);
  }

  update(): void {
    const m = this._model;
    const f = m.form;
    const model = m.models.find((x) => x.name === f.model);
    renderIfChanged(this._modelSelect, JSON.stringify(m.models.map((x) => [x.name, modelLabel(x)])), () =>
      m.models.map((x) => el('option', { value: x.name, text: `${x.name} (${modelLabel(x)})` }))
    );
    renderIfChanged(this._kindSelect, JSON.stringify([m.patchKinds, model?.patch_kinds]), () =>
      m.patchKinds.map((k) =>
        el('option', {
          value: k.name,
          text: model && !model.patch_kinds.includes(k.name) ? `${k.label} (not for this model)` : k.label,
          disabled: !!model && !model.patch_kinds.includes(k.name),
          title: `transformer_lens.patching.${k.function}`
        })
      )
    );
    renderIfChanged(this._metricSelect, JSON.stringify(m.metrics), () => m.metrics.map((x) => el('option', { value: x.name, text: x.label })));
    this._sync(this._modelSelect, f.model);
    this._sync(this._kindSelect, f.kind);
    this._sync(this._metricSelect, f.metric);
    for (const key of Object.keys(this._text) as TextField[]) this._sync(this._text[key], f[key]);
    const needsIncorrect = m.metrics.find((x) => x.name === f.metric)?.needs_incorrect ?? true;
    this._text.incorrect.disabled = !needsIncorrect;
    const check = m.formCheck;
    this.node.dataset.ready = String(check.ready);
    renderIfChanged(this._check, JSON.stringify(check), () => [
      ...check.issues.map((t) => el('li', { class: 'lenslab-sb-issue', text: t })),
      ...check.notes.map((t) => el('li', { class: 'lenslab-sb-note', text: t }))
    ]);
    this._error.textContent = m.submitError ?? '';
    this._error.hidden = !m.submitError;
    this._run.disabled = m.connection !== 'connected' || !check.ready;
  }

  /** Shows the model's value unless the user is typing in that control. */
  private _sync(control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, value: string): void {
    if (control.value !== value && document.activeElement !== control) control.value = value;
  }

  private _field(label: string, control: HTMLElement): HTMLElement {
    return el('label', { class: 'lenslab-sb-field' }, el('span', { class: 'lenslab-sb-label', text: label }), control);
  }

  private _select(key: 'model' | 'kind' | 'metric', label: string): HTMLSelectElement {
    const select = el('select', { class: `lenslab-sb-select lenslab-sb-select-${key}`, 'aria-label': label, name: key });
    select.addEventListener('change', () => this._model.updateForm({ [key]: select.value } as Partial<FormState>));
    return select;
  }

  private _textarea(key: TextField, label: string, placeholder: string): HTMLTextAreaElement {
    const area = el('textarea', { class: `lenslab-sb-input lenslab-sb-input-${key}`, rows: 3, placeholder, 'aria-label': label, name: key, spellcheck: 'false' });
    area.addEventListener('input', () => this._model.updateForm({ [key]: area.value }));
    return area;
  }

  private _input(key: TextField, label: string, placeholder: string): HTMLInputElement {
    const input = el('input', { type: 'text', class: `lenslab-sb-input lenslab-sb-input-${key}`, placeholder, 'aria-label': label, name: key, spellcheck: 'false' });
    input.addEventListener('input', () => this._model.updateForm({ [key]: input.value }));
    return input;
  }

  private _modelSelect: HTMLSelectElement;
  private _kindSelect: HTMLSelectElement;
  private _metricSelect: HTMLSelectElement;
  private _text = {} as Record<TextField, HTMLInputElement | HTMLTextAreaElement>;
  private _check: HTMLElement;
  private _error: HTMLElement;
  private _run: HTMLButtonElement;
}
