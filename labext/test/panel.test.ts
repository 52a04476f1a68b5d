// The panel's DOM driven through the model: status texts, model list, hook tree with filter and
// copy, the form's Run button, job progress and cancel, the result view and its fallback table.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Widget } from '@lumino/widgets';
import { type PanelServices, SidebarPanel } from '../src/components/panel';
import { tableRows, unravel } from '../src/components/result';
import { EXAMPLE_JOB } from '../src/examples';
import { SidebarModel } from '../src/model';
import type { FormState } from '../src/model';
import { FakeLink, HOOKS, SPEC, checked, modelInfo, record, result, welcome } from './fakes';

function q<T extends Element = HTMLElement>(root: ParentNode, selector: string): T {
  const found = root.querySelector<T>(selector);
  if (!found) throw new Error(`no ${selector}`);
  return found;
}

describe('SidebarPanel', () => {
  let link: FakeLink;
  let model: SidebarModel;
  let services: PanelServices & { inserted: string[]; copied: string[]; rendered: string[] };
  let panel: SidebarPanel;
  let renderResult: 'ok' | 'fail';

  beforeEach(() => {
    vi.useFakeTimers();
    link = new FakeLink();
    model = new SidebarModel({ idPrefix: 'd' });
    model.setLink(link);
    renderResult = 'ok';
    const inserted: string[] = [];
    const copied: string[] = [];
    const rendered: string[] = [];
    services = {
      inserted,
      copied,
      rendered,
      renderWidget: async (id, host) => {
        rendered.push(id);
        if (renderResult === 'fail') throw new Error('no manager');
        host.append(Object.assign(document.createElement('div'), { className: 'lenslab-patching' }));
        return { dispose: () => host.replaceChildren(), isDisposed: false };
      },
      insertCode: (code) => {
        inserted.push(code);
        return true;
      },
      copy: (text) => copied.push(text),
      reconnect: vi.fn()
    };
    panel = new SidebarPanel(model, services);
    Widget.attach(panel, document.body);
  });
  afterEach(() => {
    panel.dispose();
    vi.useRealTimers();
  });

  function connect(): void {
    model.setConnection('connected', '', 'demo.ipynb');
    model.handle(checked(welcome()));
    model.handle(checked({ v: 4, type: 'models', id: link.last('list_models').id, models: [modelInfo(), modelInfo({ name: 'attn', d_mlp: null, patch_kinds: ['resid_pre'] })] }));
    model.handle(checked({ v: 4, type: 'hooks', id: link.last('list_hooks').id, model: 'model', hooks: HOOKS }));
  }

  it('says clearly when lenslab is not imported, and offers a retry', () => {
    model.setConnection('not-imported', '', 'demo.ipynb');
    const status = q(panel.node, '.lenslab-sb-status');
    expect(status.textContent).toContain('demo.ipynb: LensLab is not imported in this kernel. Run "import lenslab"');
    q<HTMLButtonElement>(panel.node, '.lenslab-sb-retry').click();
    expect(services.reconnect).toHaveBeenCalled();
    expect(q(panel.node, '.lenslab-sb-models').textContent).toBe('Not connected.');
  });

  it('says when the kernel has no models', () => {
    model.setConnection('connected');
    model.handle(checked(welcome()));
    model.handle(checked({ v: 4, type: 'models', id: link.last('list_models').id, models: [] }));
    expect(q(panel.node, '.lenslab-sb-no-models').textContent).toMatch(/No hooked models in the kernel yet/);
    expect(q(panel.node, '.lenslab-sb-status').textContent).toContain('Connected · lenslab 0.1.0');
  });

  it('lists models with their dimensions and switches on click', () => {
    connect();
    const rows = panel.node.querySelectorAll<HTMLElement>('.lenslab-sb-model');
    expect(rows).toHaveLength(2);
    expect(rows[0].getAttribute('aria-selected')).toBe('true');
    expect(rows[0].textContent).toContain('2 layers · 4 heads · d_model 32 · d_head 8 · d_mlp 64 · cpu · float32');
    expect(rows[1].textContent).toContain('no MLP');
    rows[1].click();
    expect(link.last('list_hooks').model).toBe('attn');
    expect(q<HTMLSelectElement>(panel.node, 'select[name="model"]').value).toBe('attn');
  });

  it('shows the hook tree with shapes, filters it, copies names and describes the selection', () => {
    connect();
    const hooks = panel.node.querySelectorAll<HTMLElement>('.lenslab-sb-hook');
    expect(hooks).toHaveLength(HOOKS.length);
    const z = q(panel.node, '[data-hook="blocks.0.attn.hook_z"]');
    expect(q(z, '.lenslab-sb-hook-name').textContent).toBe('attn.hook_z');
    expect(q(z, '.lenslab-sb-shape').textContent).toBe('[batch, pos, head_index, d_head]');
    expect(q(panel.node, '.lenslab-sb-hook-count').textContent).toBe('7 hook points in model (1 off)');

    const filter = q<HTMLInputElement>(panel.node, '.lenslab-sb-filter');
    filter.value = 'hook_pattern';
    filter.dispatchEvent(new Event('input'));
    expect(panel.node.querySelectorAll('.lenslab-sb-hook')).toHaveLength(1);
    expect(q(panel.node, '.lenslab-sb-hook-count').textContent).toBe('1 of 7 hook points match');

    q<HTMLButtonElement>(panel.node, '[data-hook="blocks.1.attn.hook_pattern"] .lenslab-sb-copy').click();
    expect(services.copied).toEqual(['blocks.1.attn.hook_pattern']);
    expect(q(panel.node, '.lenslab-sb-toast').textContent).toBe('Copied blocks.1.attn.hook_pattern');
    expect(link.types()).not.toContain('describe_hook'); // copying does not select

    q(panel.node, '[data-hook="blocks.1.attn.hook_pattern"]').click();
    const ask = link.last('describe_hook');
    model.handle(checked({ v: 4, type: 'hook_info', id: ask.id, model: 'model', hook: HOOKS[4], sizes: [null, 4, null, null] }));
    const detail = q(panel.node, '.lenslab-sb-hook-detail');
    expect(detail.textContent).toContain('blocks.1.attn.hook_pattern');
    expect(detail.textContent).toContain('shape [batch, head_index=4, query_pos, key_pos]');
    expect(detail.textContent).toContain('Attention probabilities.');
    expect(q(panel.node, '[data-hook="blocks.1.attn.hook_pattern"]').classList.contains('lenslab-sb-silent')).toBe(false);
  });

  it('dims hook points that never fire and says how to switch them on', () => {
    connect();
    const silent = HOOKS.find((h) => h.silent !== null)!;
    const row = q(panel.node, `[data-hook="${silent.name}"]`);
    expect(row.classList.contains('lenslab-sb-silent')).toBe(true);
    expect(q(row, '.lenslab-sb-off').textContent).toBe('off');
    expect(row.getAttribute('title')).toContain('model.set_use_attn_result(True)');
    expect(panel.node.querySelectorAll('.lenslab-sb-silent')).toHaveLength(1);
    expect(q(panel.node, '.lenslab-sb-hook-count').textContent).toBe('7 hook points in model (1 off)');

    row.click();
    const ask = link.last('describe_hook');
    model.handle(checked({ v: 4, type: 'hook_info', id: ask.id, model: 'model', hook: silent, sizes: [null, null, 4, 32] }));
    expect(q(panel.node, '.lenslab-sb-detail-silent').textContent).toBe(silent.silent);
  });

  it('enables Run once the kernel confirmed the token lengths, and sends the job', () => {
    connect();
    const run = q<HTMLButtonElement>(panel.node, '.lenslab-sb-run');
    expect(run.disabled).toBe(true);
    const type = (name: string, value: string): void => {
      const input = q<HTMLInputElement>(panel.node, `[name="${name}"]`);
      input.value = value;
      input.dispatchEvent(new Event('input'));
    };
    type('clean', 'a b');
    type('corrupted', 'a c');
    type('correct', ' b');
    type('incorrect', ' c');
    const kind = q<HTMLSelectElement>(panel.node, 'select[name="kind"]');
    kind.value = 'heads_by_pos';
    kind.dispatchEvent(new Event('change'));
    expect(q(panel.node, '.lenslab-sb-check').textContent).toBe('Checking token lengths…');
    vi.advanceTimersByTime(300);
    const ask = link.last('tokenize');
    const form = model.form as FormState;
    model.handle(
      checked({
        v: 4,
        type: 'tokens',
        id: ask.id,
        model: 'model',
        n_ctx: 64,
        prompts: [
          { text: form.clean, tokens: ['<bos>', 'a', ' b'], n_tokens: 3 },
          { text: form.corrupted, tokens: ['<bos>', 'a', ' c', '!'], n_tokens: 4 }
        ],
        answers: [
          { text: ' b', tokens: [' b'], n_tokens: 1 },
          { text: ' c', tokens: [' c'], n_tokens: 1 }
        ]
      })
    );
    expect(run.disabled).toBe(true);
    expect(q(panel.node, '.lenslab-sb-issue').textContent).toMatch(/3 tokens and the corrupted prompt 4/);
    type('corrupted', 'a c');
    vi.advanceTimersByTime(300);
    const again = link.last('tokenize');
    model.handle(
      checked({
        v: 4,
        type: 'tokens',
        id: again.id,
        model: 'model',
        n_ctx: 64,
        prompts: [
          { text: 'a b', tokens: ['<bos>', 'a', ' b'], n_tokens: 3 },
          { text: 'a c', tokens: ['<bos>', 'a', ' c'], n_tokens: 3 }
        ],
        answers: [
          { text: ' b', tokens: [' b'], n_tokens: 1 },
          { text: ' c', tokens: [' c'], n_tokens: 1 }
        ]
      })
    );
    expect(run.disabled).toBe(false);
    run.click();
    expect(link.last('run_patch').job).toMatchObject({ kind: 'heads_by_pos', clean_prompt: 'a b', corrupted_prompt: 'a c' });
  });

  it('marks kinds a model cannot run', () => {
    connect();
    model.selectModel('attn');
    const options = [...panel.node.querySelectorAll<HTMLOptionElement>('select[name="kind"] option')];
    expect(options.find((o) => o.value === 'mlp_out')?.disabled).toBe(true);
    expect(options.find((o) => o.value === 'resid_pre')?.disabled).toBe(false);
  });

  it('shows progress and cancel, then the grid widget and the code to insert', async () => {
    connect();
    model.run(SPEC);
    const id = link.last('run_patch').id;
    model.handle(checked({ v: 4, type: 'job_started', id, job: record(), batch_size: 2 }));
    model.handle(checked({ v: 4, type: 'progress', id, job_id: 1, done: 4, total: 8 }));
    const job = q(panel.node, '.lenslab-sb-job[data-job-id="1"]');
    expect(job.dataset.status).toBe('running');
    expect(q<HTMLProgressElement>(job, 'progress').value).toBe(4);
    expect(q(job, '.lenslab-sb-job-status').textContent).toBe('4 / 8 patched runs');
    q<HTMLButtonElement>(job, '.lenslab-sb-cancel').click();
    expect(link.last('cancel').job_id).toBe(1);

    model.handle(checked(result(id)));
    await vi.runAllTimersAsync();
    const done = q(panel.node, '.lenslab-sb-job[data-job-id="1"]');
    expect(done.dataset.status).toBe('done');
    expect(done.dataset.progressUpdates).toBe('1');
    expect(services.rendered).toEqual(['widget-1']);
    const view = q(panel.node, '.lenslab-sb-result');
    expect(view.dataset.jobId).toBe('1');
    expect(JSON.parse(view.dataset.values ?? '[]')).toEqual(result(id).values);
    expect(q(view, '.lenslab-sb-grid .lenslab-patching')).toBeTruthy();
    q<HTMLButtonElement>(view, '.lenslab-sb-insert-code').click();
    expect(services.inserted).toEqual([result(id).code]);
    expect(q(panel.node, '.lenslab-sb-toast').textContent).toMatch(/Inserted a code cell/);
    q<HTMLButtonElement>(view, '.lenslab-sb-close').click();
    expect(q(panel.node, '.lenslab-sb-result-section').hidden).toBe(true);
    expect(q(view, '.lenslab-sb-grid-inner').children).toHaveLength(0);
  });

  it('opens the shown result in a main-area tab, named by its job', async () => {
    const opened: unknown[][] = [];
    panel.dispose();
    panel = new SidebarPanel(model, { ...services, openInTab: (...args) => opened.push(args) });
    Widget.attach(panel, document.body);
    connect();
    model.run(SPEC);
    const id = link.last('run_patch').id;
    model.handle(checked({ v: 4, type: 'job_started', id, job: record(), batch_size: 2 }));
    model.handle(checked(result(id)));
    await vi.runAllTimersAsync();
    const open = q<HTMLButtonElement>(panel.node, '.lenslab-sb-open-tab');
    expect(open.hidden).toBe(false);
    open.click();
    expect(opened).toHaveLength(1);
    const [jobId, modelId, label, caption] = opened[0] as [number, string, string, string];
    expect([jobId, modelId, label]).toEqual([1, 'widget-1', 'LensLab job 1']);
    expect(caption).toContain(`clean: ${JSON.stringify(SPEC.clean_prompt)}`);
  });

  it('has no "Open in tab" without a tab opener or a widget', async () => {
    connect();
    model.run(SPEC);
    const id = link.last('run_patch').id;
    model.handle(checked({ v: 4, type: 'job_started', id, job: record(), batch_size: 2 }));
    model.handle(checked(result(id)));
    await vi.runAllTimersAsync();
    expect(q(panel.node, '.lenslab-sb-open-tab').hidden).toBe(true);
  });

  it('titles jobs with the whole metric label, and the prompts on hover', async () => {
    connect();
    model.run({ ...SPEC, metric: 'normalized_logit_diff' });
    const id = link.last('run_patch').id;
    model.handle(checked({ v: 4, type: 'job_started', id, job: record({ spec: { ...SPEC, metric: 'normalized_logit_diff' } }), batch_size: 2 }));
    const title = q(panel.node, '.lenslab-sb-job[data-job-id="1"] .lenslab-sb-job-title');
    expect(title.textContent).toBe('#1 model: kind heads_all_pos · Normalised logit difference');
    expect(title.title.split('\n')).toEqual([
      title.textContent,
      `clean: ${JSON.stringify(SPEC.clean_prompt)}`,
      `corrupted: ${JSON.stringify(SPEC.corrupted_prompt)}`,
      'answers: " Mary" vs " John"'
    ]);
  });

  it('names models by their checkpoint, else as built from a config', () => {
    model.setConnection('connected', '', 'demo.ipynb');
    model.handle(checked(welcome()));
    model.handle(checked({ v: 4, type: 'models', id: link.last('list_models').id, models: [modelInfo(), modelInfo({ name: 'fresh', checkpoint: null })] }));
    const rows = panel.node.querySelectorAll<HTMLElement>('.lenslab-sb-model');
    expect(q(rows[0], '.lenslab-sb-checkpoint').textContent).toBe('lenslab/gelu-2l');
    expect(rows[0].textContent).not.toContain('GPT2LMHeadModel');
    expect(rows[0].title).toBe('model: lenslab/gelu-2l\nHookedTransformer · GPT2LMHeadModel');
    expect(q(rows[1], '.lenslab-sb-checkpoint').textContent).toBe('HookedTransformer, built from a config');
    const options = [...panel.node.querySelectorAll<HTMLOptionElement>('select[name="model"] option')];
    expect(options.map((o) => [o.value, o.textContent])).toEqual([
      ['model', 'model (lenslab/gelu-2l)'],
      ['fresh', 'fresh (HookedTransformer, built from a config)']
    ]);
  });

  it('offers the example job for code-trained models as placeholders and fills it in on request', async () => {
    connect();
    const clean = q<HTMLTextAreaElement>(panel.node, '[name="clean"]');
    expect(clean.placeholder).toBe(EXAMPLE_JOB.clean);
    expect(q<HTMLInputElement>(panel.node, '[name="incorrect"]').placeholder).toBe(' length');
    q<HTMLButtonElement>(panel.node, '.lenslab-sb-example').click();
    expect(model.form).toMatchObject(EXAMPLE_JOB);
    expect(clean.value).toBe('area = width * height\nprint(area)\narea = width *');
    await vi.runAllTimersAsync();
    expect(link.last('tokenize').prompts).toEqual([EXAMPLE_JOB.clean, EXAMPLE_JOB.corrupted]);
  });

  it('falls back to a table of the same values when the widget cannot be shown', async () => {
    connect();
    renderResult = 'fail';
    model.run(SPEC);
    const id = link.last('run_patch').id;
    model.handle(checked({ v: 4, type: 'job_started', id, job: record(), batch_size: 2 }));
    model.handle(checked(result(id)));
    await vi.runAllTimersAsync();
    const fallback = q(panel.node, '.lenslab-sb-fallback');
    expect(fallback.hidden).toBe(false);
    expect(fallback.textContent).toMatch(/could not be shown here \(Error: no manager\)/);
    expect(fallback.querySelectorAll('tr')).toHaveLength(2);
    expect(fallback.querySelectorAll('td')).toHaveLength(8);
  });

  it('shows kernel errors as dismissable notices', () => {
    connect();
    model.handle(checked({ v: 4, type: 'error', id: null, request_type: null, code: 'bad_message', message: 'a message must be a JSON object' }));
    const notice = q(panel.node, '.lenslab-sb-notice');
    expect(notice.textContent).toContain('a message must be a JSON object');
    q<HTMLButtonElement>(notice, '.lenslab-sb-dismiss').click();
    expect(panel.node.querySelector('.lenslab-sb-notice')).toBeNull();
  });
});

describe('the fallback table', () => {
  it('unravels C-order indices and stacks leading axes into rows', () => {
    expect(unravel(5, [2, 3])).toEqual([1, 2]);
    const rows = tableRows({ shape: [2, 2, 3], values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] });
    expect(rows.map((r) => r.label)).toEqual(['0,0', '0,1', '1,0', '1,1']);
    expect(rows[3].values).toEqual([9, 10, 11]);
  });
});
