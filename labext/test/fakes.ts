// Test doubles: a kernel link that records requests (each checked against the schema), a fake
// notebook session/kernel/comm for the bridge, and builders for kernel messages.
import { Signal } from '@lumino/signaling';
import { expect } from 'vitest';
import type { CommLike, IopubLike, KernelLike, SessionLike } from '../src/kernel';
import type { KernelLink } from '../src/model';
import type {
  HookInfo,
  JobRecord,
  JobSpec,
  KernelMessage,
  MetricInfo,
  ModelInfo,
  PatchKindInfo,
  Request,
  Result
} from '../src/protocol';
import { PATCH_KINDS } from '../src/protocol';
import { validate } from './schema';

export class FakeLink implements KernelLink {
  sent: Request[] = [];
  connected = true;

  send(request: Request): boolean {
    expect(validate(request), JSON.stringify(request)).toEqual([]);
    if (!this.connected) return false;
    this.sent.push(request);
    return true;
  }

  last<T extends Request['type']>(type: T): Extract<Request, { type: T }> {
    const found = [...this.sent].reverse().find((r) => r.type === type);
    if (!found) throw new Error(`no ${type} request sent; sent: ${this.sent.map((r) => r.type).join(', ')}`);
    return found as Extract<Request, { type: T }>;
  }

  types(): string[] {
    return this.sent.map((r) => r.type);
  }
}

export const KINDS: PatchKindInfo[] = PATCH_KINDS.map((name) => ({ name, label: `kind ${name}`, function: `get_act_patch_${name}` }));
export const METRIC_INFOS: MetricInfo[] = [
  { name: 'logit_diff', label: 'Logit difference (correct - incorrect), last position', needs_incorrect: true },
  { name: 'normalized_logit_diff', label: 'Normalised logit difference', needs_incorrect: true },
  { name: 'correct_logprob', label: 'Log-probability of the correct answer', needs_incorrect: false }
];

export function welcome(id = 'hello-1'): KernelMessage {
  return { v: 4, type: 'welcome', id, protocol: 4, lenslab_version: '0.1.0', patch_kinds: KINDS, metrics: METRIC_INFOS };
}

export function modelInfo(overrides: Partial<ModelInfo> = {}): ModelInfo {
  return {
    name: 'model',
    checkpoint: 'lenslab/gelu-2l',
    class_name: 'HookedTransformer',
    architecture: 'GPT2LMHeadModel',
    n_layers: 2,
    n_heads: 4,
    d_model: 32,
    d_head: 8,
    d_mlp: 64,
    d_vocab: 50257,
    n_ctx: 64,
    device: 'cpu',
    dtype: 'float32',
    n_hooks: 6,
    has_tokenizer: true,
    patch_kinds: [...PATCH_KINDS],
    ...overrides
  };
}

export const HOOKS: HookInfo[] = [
  { name: 'hook_embed', layer: null, component: 'embed', shape: ['batch', 'pos', 'd_model'], description: 'Token embeddings W_E[tokens].', silent: null },
  { name: 'blocks.0.hook_resid_pre', layer: 0, component: 'resid', shape: ['batch', 'pos', 'd_model'], description: 'Residual stream entering the block.', silent: null },
  { name: 'blocks.0.attn.hook_z', layer: 0, component: 'attn', shape: ['batch', 'pos', 'head_index', 'd_head'], description: 'Pattern-weighted values, per head.', silent: null },
  { name: 'blocks.0.mlp.hook_post', layer: 0, component: 'mlp', shape: ['batch', 'pos', 'd_mlp'], description: 'MLP activations (neurons).', silent: null },
  { name: 'blocks.1.attn.hook_pattern', layer: 1, component: 'attn', shape: ['batch', 'head_index', 'query_pos', 'key_pos'], description: 'Attention probabilities.', silent: null },
  { name: 'ln_final.hook_scale', layer: null, component: 'final', shape: ['batch', 'pos', '1'], description: 'Final LayerNorm scale (std).', silent: null },
  {
    name: 'blocks.0.attn.hook_result',
    layer: 0,
    component: 'attn',
    shape: ['batch', 'pos', 'head_index', 'd_model'],
    description: "Each head's output z @ W_O (cfg.use_attn_result).",
    silent: 'fires only with cfg.use_attn_result: model.set_use_attn_result(True)'
  }
];

export const SPEC: JobSpec = {
  model: 'model',
  kind: 'heads_all_pos',
  metric: 'logit_diff',
  clean_prompt: 'When Mary and John went to the store, John gave a drink to',
  corrupted_prompt: 'When Mary and John went to the store, Mary gave a drink to',
  correct_answer: ' Mary',
  incorrect_answer: ' John'
};

export function record(overrides: Partial<JobRecord> = {}): JobRecord {
  return { job_id: 1, spec: SPEC, status: 'queued', done: 0, total: 8, elapsed_s: null, message: null, ...overrides };
}

export function result(id: string, overrides: Partial<Result> = {}): Result {
  return {
    v: 4,
    type: 'result',
    id,
    job: record({ status: 'done', done: 8, elapsed_s: 0.25 }),
    shape: [2, 4],
    values: [0, 0.5, -0.5, 1, 0.25, 0, 0, -1],
    widget_model_id: 'widget-1',
    code: 'results = patching.get_act_patch_attn_head_out_all_pos(model, corrupted_tokens, clean_cache, metric)\n',
    clean_metric: 2.5,
    corrupted_metric: -2.5,
    ...overrides
  };
}

/** Every kernel message the tests build must itself follow the schema. */
export function checked<T extends KernelMessage>(msg: T): T {
  expect(validate(msg), JSON.stringify(msg)).toEqual([]);
  return msg;
}

// ---- a fake notebook session for the bridge ------------------------------------------------------

export class FakeComm implements CommLike {
  isDisposed = false;
  opened: unknown[] = [];
  sent: unknown[] = [];
  closed = false;
  onMsg: (msg: { content: { data: unknown } }) => void = () => undefined;
  onClose: (msg: unknown) => void = () => undefined;

  open(data: object): void {
    this.opened.push(data);
  }
  send(data: object): void {
    if (this.isDisposed) throw new Error('disposed');
    this.sent.push(data);
  }
  close(): void {
    this.closed = true;
    this.isDisposed = true;
  }
  dispose(): void {
    this.isDisposed = true;
  }
  /** The kernel sends `data` on this comm. */
  receive(data: unknown): void {
    this.onMsg({ content: { data } });
  }
  /** The kernel closes the comm (e.g. no such target). */
  kernelCloses(): void {
    this.isDisposed = true;
    this.onClose({});
  }
}

export class FakeKernel implements KernelLike {
  isDisposed = false;
  comms: FakeComm[] = [];
  interrupts = 0;
  constructor(readonly id: string) {}

  createComm(target: string): CommLike {
    expect(target).toBe('lenslab.sidebar');
    const comm = new FakeComm();
    this.comms.push(comm);
    return comm;
  }
  async interrupt(): Promise<void> {
    this.interrupts++;
  }
  get comm(): FakeComm {
    return this.comms[this.comms.length - 1];
  }
}

export class FakeSession implements SessionLike {
  isDisposed = false;
  session: { kernel: FakeKernel | null } | null;
  kernelChanged = new Signal<this, unknown>(this);
  statusChanged = new Signal<this, string>(this);
  iopubMessage = new Signal<this, IopubLike>(this);

  constructor(kernel: FakeKernel | null) {
    this.session = { kernel };
  }
  get kernel(): FakeKernel {
    const k = this.session?.kernel;
    if (!k) throw new Error('no kernel');
    return k;
  }
  changeKernel(kernel: FakeKernel | null): void {
    const old = this.session?.kernel ?? null;
    this.session = { kernel };
    this.kernelChanged.emit({ name: 'kernel', oldValue: old, newValue: kernel });
  }
  status(status: string): void {
    this.statusChanged.emit(status);
  }
  /** A notebook cell (execute_request) finished. */
  cellFinished(): void {
    this.iopubMessage.emit({ header: { msg_type: 'status' }, parent_header: { msg_type: 'execute_request' }, content: { execution_state: 'idle' } });
  }
  /** The kernel went idle after one of our own comm messages. */
  commFinished(): void {
    this.iopubMessage.emit({ header: { msg_type: 'status' }, parent_header: { msg_type: 'comm_msg' }, content: { execution_state: 'idle' } });
  }
}
