// The panel's state: hook tree, form validation and the request/reply flows with a fake kernel link.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FormState, checkForm } from '../src/formcheck';
import { buildHookTree, shapeText } from '../src/hooktree';
import { SidebarModel } from '../src/model';
import type { Tokens } from '../src/protocol';
import { FakeLink, HOOKS, METRIC_INFOS, SPEC, checked, modelInfo, record, result, welcome } from './fakes';

describe('buildHookTree', () => {
  it('groups by layer, then component, in forward order', () => {
    const tree = buildHookTree(HOOKS, '');
    expect(tree.map((g) => g.label)).toEqual(['Embeddings', 'Layer 0', 'Layer 1', 'Final']);
    expect(tree[1].components.map((c) => c.component)).toEqual(['resid', 'attn', 'mlp']);
    expect(tree[1].components[1].label).toBe('attention');
    expect(tree.reduce((n, g) => n + g.count, 0)).toBe(HOOKS.length);
  });

  it('filters on every word, in names, descriptions and shapes, ignoring case', () => {
    const names = (filter: string): string[] => buildHookTree(HOOKS, filter).flatMap((g) => g.components.flatMap((c) => c.hooks.map((h) => h.name)));
    expect(names('attn')).toEqual(['blocks.0.attn.hook_z', 'blocks.0.attn.hook_result', 'blocks.1.attn.hook_pattern']);
    expect(names('ATTN  hook_Z')).toEqual(['blocks.0.attn.hook_z']);
    expect(names('neurons')).toEqual(['blocks.0.mlp.hook_post']);
    expect(names('head_index')).toEqual(['blocks.0.attn.hook_z', 'blocks.0.attn.hook_result', 'blocks.1.attn.hook_pattern']);
    expect(buildHookTree(HOOKS, 'nothing-matches')).toEqual([]);
  });

  it('files an SAE spliced in by sae-lens in its block, after the MLP', () => {
    const sae = { name: 'blocks.0.hook_mlp_out.hook_sae_acts_post', layer: 0, component: 'sae', shape: ['batch', 'pos', 'd_sae'], description: 'SAE feature activations.', silent: null };
    const block = buildHookTree([sae, ...HOOKS], '')[1];
    expect(block.components.map((c) => c.component)).toEqual(['resid', 'attn', 'mlp', 'sae']);
    expect(block.components[3].label).toBe('SAE (sae-lens)');
    expect(block.components[3].hooks).toEqual([sae]);
  });

  it('puts hooks without a table entry under Other', () => {
    const tree = buildHookTree([{ name: 'custom.hook', layer: null, component: 'other', shape: [], description: '', silent: null }], '');
    expect(tree.map((g) => g.label)).toEqual(['Other']);
  });
});

describe('shapeText', () => {
  it('shows symbols, with concrete sizes where known', () => {
    expect(shapeText(['batch', 'pos', 'head_index', 'd_head'])).toBe('[batch, pos, head_index, d_head]');
    expect(shapeText(['batch', 'pos', 'head_index', 'd_head'], [null, null, 8, 32])).toBe('[batch, pos, head_index=8, d_head=32]');
    expect(shapeText(['batch', 'pos', '1'], [null, null, 1])).toBe('[batch, pos, 1]');
  });
});

function tokens(form: FormState, clean: string[], corrupted: string[], answers: string[][], nCtx = 64): Tokens {
  return checked({
    v: 4,
    type: 'tokens',
    id: 't',
    model: form.model,
    n_ctx: nCtx,
    prompts: [
      { text: form.clean, tokens: clean, n_tokens: clean.length },
      { text: form.corrupted, tokens: corrupted, n_tokens: corrupted.length }
    ],
    answers: answers.map((t, i) => ({ text: i === 0 ? form.correct : form.incorrect, tokens: t, n_tokens: t.length }))
  });
}

describe('checkForm', () => {
  const form: FormState = { model: 'model', kind: 'heads_all_pos', metric: 'logit_diff', clean: 'a b', corrupted: 'a c', correct: ' b', incorrect: ' c' };
  const logitDiff = METRIC_INFOS[0];
  const ok = tokens(form, ['<bos>', 'a', ' b'], ['<bos>', 'a', ' c'], [[' b'], [' c']]);

  it('is ready when the lengths match and each answer is one token', () => {
    expect(checkForm(form, modelInfo(), logitDiff, ok)).toEqual({ ready: true, pending: false, issues: [], notes: ['3 tokens each (with BOS).'] });
  });

  it('waits for the kernel while the token counts are missing or stale', () => {
    expect(checkForm(form, modelInfo(), logitDiff, null)).toMatchObject({ ready: false, pending: true });
    expect(checkForm({ ...form, clean: 'a b!' }, modelInfo(), logitDiff, ok)).toMatchObject({ ready: false, pending: true });
  });

  it('refuses prompts of different token lengths', () => {
    const t = tokens(form, ['<bos>', 'a', ' b'], ['<bos>', 'a', ' c', '!'], [[' b'], [' c']]);
    const check = checkForm(form, modelInfo(), logitDiff, t);
    expect(check.ready).toBe(false);
    expect(check.issues).toEqual(['The clean prompt is 3 tokens and the corrupted prompt 4: patching needs the same number of tokens.']);
  });

  it('refuses answers of several tokens, equal answers and prompts longer than n_ctx', () => {
    const many = tokens(form, ['<bos>', 'a', ' b'], ['<bos>', 'a', ' c'], [[' b'], [' c', 'ee']]);
    expect(checkForm(form, modelInfo(), logitDiff, many).issues).toEqual(['The incorrect answer " c" is 2 tokens (" c" "ee"); it must be one token.']);
    const same = tokens(form, ['<bos>', 'a', ' b'], ['<bos>', 'a', ' c'], [[' b'], [' b']]);
    expect(checkForm(form, modelInfo(), logitDiff, same).issues).toEqual(['The correct and incorrect answers are the same token.']);
    const long = tokens(form, ['<bos>', 'a', ' b'], ['<bos>', 'a', ' c'], [[' b'], [' c']], 2);
    expect(checkForm(form, modelInfo(), logitDiff, long).issues).toHaveLength(2);
  });

  it('needs a model with a tokenizer that supports the kind, and every field', () => {
    expect(checkForm(form, undefined, logitDiff, ok).issues).toEqual(['Choose a model.']);
    expect(checkForm(form, modelInfo({ has_tokenizer: false }), logitDiff, ok).issues[0]).toMatch(/no tokenizer/);
    expect(checkForm({ ...form, kind: 'mlp_out' }, modelInfo({ patch_kinds: ['resid_pre'] }), logitDiff, ok).issues[0]).toMatch(/cannot run this patch kind/);
    expect(checkForm({ ...form, clean: '', incorrect: '' }, modelInfo(), logitDiff, ok).issues).toEqual([
      'Enter the clean prompt.',
      'Enter the incorrect answer (this metric compares the two).'
    ]);
  });

  it('does not need the incorrect answer for a metric that ignores it', () => {
    const f = { ...form, metric: 'correct_logprob' as const, incorrect: '' };
    const t = tokens(f, ['<bos>', 'a', ' b'], ['<bos>', 'a', ' c'], [[' b']]);
    expect(checkForm(f, modelInfo(), METRIC_INFOS[2], t).ready).toBe(true);
  });
});

describe('SidebarModel', () => {
  let link: FakeLink;
  let model: SidebarModel;
  let changes: number;

  beforeEach(() => {
    vi.useFakeTimers();
    link = new FakeLink();
    model = new SidebarModel({ idPrefix: 't' });
    model.setLink(link);
    changes = 0;
    model.changed.connect(() => changes++);
  });
  afterEach(() => vi.useRealTimers());

  /** Connected, with one model and its hooks loaded. */
  function connect(): void {
    model.setConnection('connecting', '', 'Untitled.ipynb');
    model.setConnection('connected', '', 'Untitled.ipynb');
    model.handle(checked(welcome()));
    model.handle(checked({ v: 4, type: 'models', id: link.last('list_models').id, models: [modelInfo(), modelInfo({ name: 'attn', d_mlp: null })] }));
    model.handle(checked({ v: 4, type: 'hooks', id: link.last('list_hooks').id, model: 'model', hooks: HOOKS }));
  }

  it('asks for models and jobs on welcome, then for the first model hooks', () => {
    model.setConnection('connected');
    model.handle(checked(welcome()));
    expect(link.types()).toEqual(['list_models', 'list_jobs']);
    expect(model.lenslabVersion).toBe('0.1.0');
    model.handle(checked({ v: 4, type: 'models', id: link.last('list_models').id, models: [modelInfo()] }));
    expect(model.selectedModel?.name).toBe('model');
    expect(link.last('list_hooks').model).toBe('model');
    expect(model.hooksLoading).toBe(true);
    expect(model.form.model).toBe('model');
    expect(changes).toBeGreaterThan(0);
  });

  it('shows the hook tree and asks the kernel about a selected hook', () => {
    connect();
    expect(model.hooks).toHaveLength(HOOKS.length);
    expect(model.hooksLoading).toBe(false);
    model.setFilter('attn');
    expect(model.hookTree.map((g) => g.label)).toEqual(['Layer 0', 'Layer 1']);
    model.selectHook('blocks.0.attn.hook_z');
    const ask = link.last('describe_hook');
    expect(ask).toMatchObject({ model: 'model', hook: 'blocks.0.attn.hook_z' });
    model.handle(checked({ v: 4, type: 'hook_info', id: ask.id, model: 'model', hook: HOOKS[2], sizes: [null, null, 4, 8] }));
    expect(model.selectedHook?.name).toBe('blocks.0.attn.hook_z');
    expect(model.hookSizes).toEqual([null, null, 4, 8]);
  });

  it('ignores stale replies', () => {
    connect();
    model.selectModel('attn');
    const first = link.last('list_hooks').id;
    model.selectModel('model');
    model.handle(checked({ v: 4, type: 'hooks', id: first, model: 'attn', hooks: HOOKS.slice(0, 1) }));
    expect(model.hooks).toEqual([]);
    model.handle(checked({ v: 4, type: 'hooks', id: link.last('list_hooks').id, model: 'model', hooks: HOOKS }));
    expect(model.hooks).toHaveLength(HOOKS.length);
  });

  it('refreshes the models after a cell ran and refetches hooks when a model changed', () => {
    connect();
    const count = (type: string): number => link.types().filter((t) => t === type).length;
    const hooksAsked = count('list_hooks');
    model.cellExecuted();
    expect(link.types().slice(-1)).toEqual(['list_models']);
    model.handle(checked({ v: 4, type: 'models', id: link.last('list_models').id, models: [modelInfo(), modelInfo({ name: 'attn', d_mlp: null })] }));
    expect(count('list_hooks')).toBe(hooksAsked); // unchanged model: hooks kept
    model.cellExecuted();
    model.handle(checked({ v: 4, type: 'models', id: link.last('list_models').id, models: [modelInfo({ n_layers: 3 })] }));
    expect(count('list_hooks')).toBe(hooksAsked + 1); // `model` now holds another model
    expect(model.models).toHaveLength(1);
  });

  it('tokenizes the form after a pause, then enables submit', () => {
    connect();
    model.updateForm({ clean: 'a b', corrupted: 'a c', correct: ' b', incorrect: ' c' });
    expect(link.types()).not.toContain('tokenize');
    vi.advanceTimersByTime(300);
    const ask = link.last('tokenize');
    expect(ask).toMatchObject({ model: 'model', prompts: ['a b', 'a c'], answers: [' b', ' c'] });
    expect(model.formCheck.pending).toBe(true);
    expect(model.submit()).toBe(false);
    model.handle(checked({ ...tokens(model.form as FormState, ['<bos>', 'a', ' b'], ['<bos>', 'a', ' c'], [[' b'], [' c']]), id: ask.id }));
    expect(model.formCheck.ready).toBe(true);
    expect(model.submit()).toBe(true);
    expect(link.last('run_patch').job).toEqual({
      model: 'model',
      kind: 'resid_pre',
      metric: 'logit_diff',
      clean_prompt: 'a b',
      corrupted_prompt: 'a c',
      correct_answer: ' b',
      incorrect_answer: ' c'
    });
  });

  it('shows a tokenize error (no tokenizer) as a form issue', () => {
    connect();
    model.updateForm({ clean: 'a', corrupted: 'b', correct: ' b', incorrect: ' c' });
    vi.advanceTimersByTime(300);
    const id = link.last('tokenize').id;
    model.handle(checked({ v: 4, type: 'error', id, request_type: 'tokenize', code: 'no_tokenizer', message: 'model has no tokenizer' }));
    expect(model.formCheck).toMatchObject({ ready: false, issues: ['model has no tokenizer'] });
  });

  it('follows a job: started, progress, result shown; and its errors', () => {
    connect();
    model.run(SPEC);
    const id = link.last('run_patch').id;
    model.handle(checked({ v: 4, type: 'job_started', id, job: record(), batch_size: 2 }));
    expect(model.jobs[0]).toMatchObject({ mine: true, batchSize: 2, record: { status: 'queued' } });
    model.handle(checked({ v: 4, type: 'progress', id, job_id: 1, done: 4, total: 8 }));
    model.handle(checked({ v: 4, type: 'progress', id, job_id: 1, done: 8, total: 8 }));
    expect(model.jobs[0]).toMatchObject({ progressUpdates: 2, record: { status: 'running', done: 8 } });
    model.handle(checked(result(id)));
    expect(model.shownJob?.record.status).toBe('done');
    expect(model.shownJob?.result?.widget_model_id).toBe('widget-1');
    model.hideResult();
    expect(model.shownJob).toBeUndefined();
    model.showResult(1);
    expect(model.shownJob?.record.job_id).toBe(1);

    model.run(SPEC);
    const bad = link.last('run_patch').id;
    model.handle(checked({ v: 4, type: 'error', id: bad, request_type: 'run_patch', code: 'invalid_job', message: 'lengths differ' }));
    expect(model.submitError).toBe('lengths differ');
    model.handle(checked({ v: 4, type: 'error', id: 'other', request_type: 'list_hooks', code: 'unknown_model', message: 'no model' }));
    expect(model.notices).toEqual([{ code: 'unknown_model', requestType: 'list_hooks', message: 'no model' }]);
    model.dismissNotice(0);
    expect(model.notices).toEqual([]);
  });

  it('does not show a result another panel started, and fetches an old result on request', () => {
    connect();
    model.handle(checked({ v: 4, type: 'jobs', id: link.last('list_jobs').id, jobs: [record({ status: 'done', done: 8, elapsed_s: 1 })] }));
    model.handle(checked(result('someone-else')));
    expect(model.shownJob).toBeUndefined();
    model.handle(checked({ v: 4, type: 'jobs', id: 'stale', jobs: [] }));
    expect(model.jobs).toHaveLength(1);
    const fresh = new SidebarModel({ idPrefix: 'f' });
    fresh.setLink(link);
    fresh.setConnection('connected');
    fresh.handle(checked(welcome()));
    fresh.handle(checked({ v: 4, type: 'jobs', id: link.last('list_jobs').id, jobs: [record({ status: 'done', done: 8, elapsed_s: 1 })] }));
    fresh.showResult(1);
    const ask = link.last('get_result');
    expect(ask.job_id).toBe(1);
    fresh.handle(checked(result(ask.id)));
    expect(fresh.shownJob?.result?.values).toHaveLength(8);
  });

  it('cancels with a message, also while a notebook cell runs', () => {
    connect();
    model.run(SPEC);
    const id = link.last('run_patch').id;
    model.handle(checked({ v: 4, type: 'job_started', id, job: record({ status: 'running' }), batch_size: 2 }));
    model.cancel(1);
    expect(link.last('cancel').job_id).toBe(1); // read by the kernel even while a cell runs
    model.handle(checked({ v: 4, type: 'cancelled', id, job_id: 1, done: 4, total: 8 }));
    expect(model.jobs[0]).toMatchObject({ record: { status: 'cancelled', done: 4 } });
  });

  it('records failures, re-runs and edits old jobs', () => {
    connect();
    model.handle(checked({ v: 4, type: 'job_started', id: 'x', job: record({ job_id: 3 }), batch_size: 1 }));
    model.handle(checked({ v: 4, type: 'job_failed', id: 'x', job_id: 3, error_type: 'RuntimeError', message: 'boom' }));
    expect(model.jobs[0].record).toMatchObject({ status: 'failed', message: 'RuntimeError: boom' });
    expect(model.rerun(3)).toBe(true);
    expect(link.last('run_patch').job).toEqual(SPEC);
    model.editJob(3);
    expect(model.form).toMatchObject({ kind: 'heads_all_pos', clean: SPEC.clean_prompt, incorrect: ' John' });
  });

  it('forgets the kernel state when the kernel restarts, keeping the typed text', () => {
    connect();
    model.updateForm({ clean: 'keep me' });
    model.handle(checked({ v: 4, type: 'job_started', id: 'x', job: record(), batch_size: 1 }));
    model.setConnection('restarting');
    expect(model.models).toEqual([]);
    expect(model.jobs).toEqual([]);
    expect(model.hooks).toEqual([]);
    expect(model.form.clean).toBe('keep me');
    expect(model.connection).toBe('restarting');
  });

  it('checks the kept form again once the new kernel lists its models', () => {
    connect();
    model.updateForm({ clean: 'a b', corrupted: 'a c', correct: ' b', incorrect: ' c' });
    vi.advanceTimersByTime(300);
    model.setConnection('restarting');
    const asked = link.types().filter((t) => t === 'tokenize').length;
    connect();
    vi.advanceTimersByTime(300);
    expect(link.types().filter((t) => t === 'tokenize').length).toBe(asked + 1);
    expect(model.formCheck.pending).toBe(true);
  });

  it('sends nothing without a link or connection', () => {
    model.setLink(null);
    expect(model.run(SPEC)).toBe(false);
    model.setLink(link);
    link.connected = false;
    expect(model.run(SPEC)).toBe(false);
    model.refresh();
    expect(link.sent).toEqual([]);
  });
});
