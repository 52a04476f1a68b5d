// The sidebar's state: what the kernel told us (models, hooks, jobs) and what the user typed.
// No DOM and no JupyterLab imports here, so vitest drives it with plain objects.
import { type ISignal, Signal } from '@lumino/signaling';
import { type FormCheck, type FormState, checkForm } from './formcheck';
import { type HookGroup, buildHookTree } from './hooktree';
import {
  type HookInfo,
  type JobRecord,
  type JobSpec,
  type KernelMessage,
  type MetricInfo,
  type ModelInfo,
  type PatchKindInfo,
  type Request,
  type RequestBody,
  type RequestType,
  type Result,
  type Tokens,
  makeRequest
} from './protocol';

export type { FormCheck, FormState } from './formcheck';

/** Where the panel stands with the active notebook's kernel. */
export type ConnectionState =
  | 'no-notebook' // no notebook is open
  | 'no-kernel' // the notebook has no running kernel
  | 'connecting' // comm opened, waiting for the kernel's welcome
  | 'connected'
  | 'not-imported' // the kernel closed the comm: lenslab is not imported there
  | 'restarting'
  | 'disconnected' // the comm closed after it worked
  | 'incompatible'; // the kernel's lenslab speaks another protocol version

/** How the model reaches the kernel (kernel.ts provides it). */
export interface KernelLink {
  /** Sends a request over the comm; false when there is no open comm. */
  send(request: Request): boolean;
}

export interface JobView {
  record: JobRecord;
  requestId: string;
  batchSize: number | null;
  progressUpdates: number;
  result: Result | null;
  mine: boolean; // started from this panel
}

export interface KernelNotice {
  code: string;
  requestType: string | null;
  message: string;
}

const TOKENIZE_DELAY_MS = 250;
const MAX_NOTICES = 5;

export class SidebarModel {
  constructor(options: { idPrefix?: string } = {}) {
    this._idPrefix = options.idPrefix ?? `p${Math.random().toString(36).slice(2, 8)}`;
  }

  /** Emitted after every state change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  // ---- state (read by the components) ------------------------------------------------------

  get connection(): ConnectionState {
    return this._connection;
  }
  get connectionDetail(): string {
    return this._detail;
  }
  get notebook(): string {
    return this._notebook;
  }
  get lenslabVersion(): string | null {
    return this._version;
  }
  get patchKinds(): readonly PatchKindInfo[] {
    return this._kinds;
  }
  get metrics(): readonly MetricInfo[] {
    return this._metrics;
  }
  get models(): readonly ModelInfo[] {
    return this._models;
  }
  get selectedModel(): ModelInfo | undefined {
    return this._models.find((m) => m.name === this._selected);
  }
  get hooks(): readonly HookInfo[] {
    return this._hooks;
  }
  get hooksLoading(): boolean {
    return this._pending.get('list_hooks') !== undefined;
  }
  get filter(): string {
    return this._filter;
  }
  get hookTree(): HookGroup[] {
    return buildHookTree(this._hooks, this._filter);
  }
  get selectedHook(): HookInfo | undefined {
    return this._hooks.find((h) => h.name === this._selectedHook);
  }
  get hookSizes(): (number | null)[] | undefined {
    return this._hookSizes?.hook === this._selectedHook ? this._hookSizes.sizes : undefined;
  }
  get form(): Readonly<FormState> {
    return this._form;
  }
  get formCheck(): FormCheck {
    const check = checkForm(
      this._form,
      this._models.find((m) => m.name === this._form.model),
      this._metrics.find((m) => m.name === this._form.metric),
      this._tokens
    );
    if (this._tokenError) return { ready: false, pending: false, issues: [this._tokenError, ...check.issues], notes: [] };
    return check;
  }
  get submitError(): string | null {
    return this._submitError;
  }
  /** Jobs, newest first. */
  get jobs(): JobView[] {
    return [...this._jobs.values()].sort((a, b) => b.record.job_id - a.record.job_id);
  }
  get shownJob(): JobView | undefined {
    return this._shown === null ? undefined : this._jobs.get(this._shown);
  }
  get notices(): readonly KernelNotice[] {
    return this._notices;
  }

  // ---- wiring -----------------------------------------------------------------------------------

  /** Connects the model to the kernel link (kernel.ts), or disconnects it with null. */
  setLink(link: KernelLink | null): void {
    this._link = link;
  }

  /** The bridge reports the connection; leaving 'connected' forgets the kernel's state. */
  setConnection(state: ConnectionState, detail = '', notebook = this._notebook): void {
    const wasConnected = this._connection === 'connected';
    this._connection = state;
    this._detail = detail;
    this._notebook = notebook;
    if (state !== 'connected' && (wasConnected || state !== 'connecting')) {
      this._forgetKernelState();
    }
    this._emit();
  }

  /** A notebook cell finished: the namespace may have new models. */
  cellExecuted(): void {
    if (this._connection === 'connected') this._request('list_models', {});
  }

  refresh(): void {
    if (this._connection !== 'connected') return;
    this._request('list_models', {});
    this._request('list_jobs', {});
  }

  // ---- user actions ---------------------------------------------------------------------------

  selectModel(name: string): void {
    if (this._selected === name && this._hooks.length) return;
    this._selected = name;
    this._hooks = [];
    this._selectedHook = null;
    this._hookSizes = null;
    if (this._form.model !== name) this.updateForm({ model: name });
    this._request('list_hooks', { model: name });
    this._emit();
  }

  setFilter(text: string): void {
    this._filter = text;
    this._emit();
  }

  selectHook(name: string | null): void {
    this._selectedHook = name;
    if (name !== null && this._selected !== null) this._request('describe_hook', { model: this._selected, hook: name });
    this._emit();
  }

  updateForm(patch: Partial<FormState>): void {
    this._form = { ...this._form, ...patch };
    this._submitError = null;
    this._tokenError = null;
    this._scheduleTokenize();
    this._emit();
  }

  /** Sends the job; false when the form is not ready. */
  submit(): boolean {
    if (!this.formCheck.ready) return false;
    const f = this._form;
    const needsIncorrect = this._metrics.find((m) => m.name === f.metric)?.needs_incorrect ?? true;
    const spec: JobSpec = {
      model: f.model,
      kind: f.kind,
      metric: f.metric,
      clean_prompt: f.clean,
      corrupted_prompt: f.corrupted,
      correct_answer: f.correct,
      incorrect_answer: needsIncorrect ? f.incorrect : ''
    };
    return this.run(spec);
  }

  /** Runs a job spec (the form's, or an old job's for "re-run"). */
  run(spec: JobSpec): boolean {
    const id = this._request('run_patch', { job: spec });
    if (id === null) return false;
    this._myRuns.add(id);
    this._emit();
    return true;
  }

  rerun(jobId: number): boolean {
    const job = this._jobs.get(jobId);
    return job ? this.run(job.record.spec) : false;
  }

  /** Puts an old job's spec back into the form. */
  editJob(jobId: number): void {
    const spec = this._jobs.get(jobId)?.record.spec;
    if (!spec) return;
    this.updateForm({
      model: spec.model,
      kind: spec.kind,
      metric: spec.metric,
      clean: spec.clean_prompt,
      corrupted: spec.corrupted_prompt,
      correct: spec.correct_answer,
      incorrect: spec.incorrect_answer
    });
  }

  cancel(jobId: number): void {
    const job = this._jobs.get(jobId);
    if (!job) return;
    this._request('cancel', { job_id: jobId });
  }

  showResult(jobId: number): void {
    const job = this._jobs.get(jobId);
    if (!job) return;
    if (job.result) {
      this._shown = jobId;
      this._emit();
    } else if (job.record.status === 'done') {
      this._request('get_result', { job_id: jobId });
    }
  }

  hideResult(): void {
    this._shown = null;
    this._emit();
  }

  dismissNotice(index: number): void {
    this._notices = this._notices.filter((_, i) => i !== index);
    this._emit();
  }

  // ---- kernel messages ----------------------------------------------------------------------------

  handle(msg: KernelMessage): void {
    switch (msg.type) {
      case 'welcome':
        this._version = msg.lenslab_version;
        this._kinds = msg.patch_kinds;
        this._metrics = msg.metrics;
        if (!this._kinds.some((k) => k.name === this._form.kind) && this._kinds.length) this._form.kind = this._kinds[0].name;
        if (!this._metrics.some((m) => m.name === this._form.metric) && this._metrics.length) this._form.metric = this._metrics[0].name;
        this.refresh();
        break;
      case 'models':
        if (!this._isLatest('list_models', msg.id)) return;
        this._setModels(msg.models);
        break;
      case 'hooks':
        if (!this._isLatest('list_hooks', msg.id) || msg.model !== this._selected) return;
        this._hooks = msg.hooks;
        break;
      case 'hook_info':
        if (!this._isLatest('describe_hook', msg.id)) return;
        this._hookSizes = { hook: msg.hook.name, sizes: msg.sizes };
        break;
      case 'tokens':
        if (!this._isLatest('tokenize', msg.id)) return;
        this._tokens = msg;
        break;
      case 'job_started': {
        const job = this._upsert(msg.job, msg.id);
        job.batchSize = msg.batch_size;
        if (this._myRuns.has(msg.id)) job.mine = true;
        break;
      }
      case 'progress': {
        const job = this._jobs.get(msg.job_id);
        if (!job) return;
        job.record = { ...job.record, status: 'running', done: msg.done, total: msg.total };
        job.progressUpdates += 1;
        break;
      }
      case 'result': {
        const job = this._upsert(msg.job, msg.id);
        job.result = msg;
        // Show a result the user asked for, or a job of ours finishing.
        if (this._isLatest('get_result', msg.id) || job.mine || this._myRuns.has(msg.id)) this._shown = msg.job.job_id;
        break;
      }
      case 'cancelled':
      case 'job_failed': {
        const job = this._jobs.get(msg.job_id);
        if (!job) return;
        const status = msg.type === 'cancelled' ? 'cancelled' : 'failed';
        const message = msg.type === 'job_failed' ? `${msg.error_type}: ${msg.message}` : null;
        const done = msg.type === 'cancelled' ? msg.done : job.record.done;
        job.record = { ...job.record, status, done, message };
        break;
      }
      case 'cancel_ack':
        return;
      case 'jobs':
        if (!this._isLatest('list_jobs', msg.id)) return;
        for (const record of msg.jobs) this._upsert(record, null);
        break;
      case 'error':
        this._onError(msg.id, msg.request_type, msg.code, msg.message);
        break;
    }
    this._emit();
  }

  /** Shows a notice in the panel (e.g. a message from the kernel the panel could not parse). */
  notify(code: string, message: string): void {
    this._notice({ code, requestType: null, message });
    this._emit();
  }

  // ---- internals ---------------------------------------------------------------------------------

  private _onError(id: string | null, requestType: string | null, code: string, message: string): void {
    if (id !== null && this._isLatest('tokenize', id)) {
      this._tokenError = message;
      this._pending.delete('tokenize');
      return;
    }
    if (id !== null && this._myRuns.has(id)) {
      this._submitError = message;
      return;
    }
    if (id !== null && this._isLatest('list_hooks', id)) this._pending.delete('list_hooks');
    this._notice({ code, requestType, message });
  }

  private _notice(notice: KernelNotice): void {
    this._notices = [...this._notices, notice].slice(-MAX_NOTICES);
  }

  private _setModels(models: ModelInfo[]): void {
    const before = this.selectedModel;
    this._models = models;
    const names = models.map((m) => m.name);
    if (this._selected === null || !names.includes(this._selected)) {
      this._selected = null;
      this._hooks = [];
      this._selectedHook = null;
      if (models.length) this.selectModel(models[0].name);
    } else if (JSON.stringify(before) !== JSON.stringify(this.selectedModel)) {
      // The variable now holds another model: its hooks may differ.
      this._request('list_hooks', { model: this._selected });
    }
    if (!names.includes(this._form.model) && this._selected !== null) {
      this._form = { ...this._form, model: this._selected };
      this._scheduleTokenize();
    } else if (this._tokens === null) {
      this._scheduleTokenize(); // e.g. reconnected after a restart with the form already filled in
    }
  }

  private _upsert(record: JobRecord, requestId: string | null): JobView {
    const job = this._jobs.get(record.job_id);
    if (job) {
      job.record = record;
      return job;
    }
    const view: JobView = {
      record,
      requestId: requestId ?? '',
      batchSize: null,
      progressUpdates: 0,
      result: null,
      mine: requestId !== null && this._myRuns.has(requestId)
    };
    this._jobs.set(record.job_id, view);
    return view;
  }

  private _forgetKernelState(): void {
    this._version = null;
    this._models = [];
    this._selected = null;
    this._hooks = [];
    this._selectedHook = null;
    this._hookSizes = null;
    this._tokens = null;
    this._tokenError = null;
    this._jobs.clear();
    this._shown = null;
    this._pending.clear();
    this._myRuns.clear();
    this._notices = [];
    if (this._tokenizeTimer !== null) clearTimeout(this._tokenizeTimer);
    this._tokenizeTimer = null;
  }

  private _scheduleTokenize(): void {
    if (this._tokenizeTimer !== null) clearTimeout(this._tokenizeTimer);
    this._tokenizeTimer = setTimeout(() => {
      this._tokenizeTimer = null;
      this._tokenize();
    }, TOKENIZE_DELAY_MS);
  }

  private _tokenize(): void {
    const f = this._form;
    const model = this._models.find((m) => m.name === f.model);
    if (this._connection !== 'connected' || !model?.has_tokenizer || !f.clean || !f.corrupted || !f.correct) return;
    const needsIncorrect = this._metrics.find((m) => m.name === f.metric)?.needs_incorrect ?? true;
    if (needsIncorrect && !f.incorrect) return;
    this._request('tokenize', {
      model: f.model,
      prompts: [f.clean, f.corrupted],
      answers: needsIncorrect ? [f.correct, f.incorrect] : [f.correct]
    });
  }

  /** Sends a request; remembers its id as the latest of its type. Null when not connected. */
  private _request<T extends RequestType>(type: T, body: RequestBody<T>): string | null {
    if (!this._link) return null;
    const id = `${this._idPrefix}-${++this._counter}`;
    if (!this._link.send(makeRequest(type, id, body))) return null;
    this._pending.set(type, id);
    return id;
  }

  private _isLatest(type: RequestType, id: string): boolean {
    if (this._pending.get(type) !== id) return false;
    this._pending.delete(type);
    return true;
  }

  private _emit(): void {
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _idPrefix: string;
  private _counter = 0;
  private _link: KernelLink | null = null;
  private _connection: ConnectionState = 'no-notebook';
  private _detail = '';
  private _notebook = '';
  private _version: string | null = null;
  private _kinds: PatchKindInfo[] = [];
  private _metrics: MetricInfo[] = [];
  private _models: ModelInfo[] = [];
  private _selected: string | null = null;
  private _hooks: HookInfo[] = [];
  private _filter = '';
  private _selectedHook: string | null = null;
  private _hookSizes: { hook: string; sizes: (number | null)[] } | null = null;
  private _form: FormState = {
    model: '',
    kind: 'resid_pre',
    metric: 'logit_diff',
    clean: '',
    corrupted: '',
    correct: '',
    incorrect: ''
  };
  private _tokens: Tokens | null = null;
  private _tokenError: string | null = null;
  private _submitError: string | null = null;
  private _tokenizeTimer: ReturnType<typeof setTimeout> | null = null;
  private _jobs = new Map<number, JobView>();
  private _shown: number | null = null;
  private _pending = new Map<RequestType, string>();
  private _myRuns = new Set<string>();
  private _notices: KernelNotice[] = [];
}
