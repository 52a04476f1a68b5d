// Keeps one comm open to the active notebook's kernel, following it the way ipywidgets' lab
// manager follows its kernel: when the notebook, its kernel or the kernel's life changes, the old
// comm is disposed and a new one opened. The kernel's comm target exists only once lenslab is
// imported there; until then ipykernel answers comm_open with comm_close ("not imported"), and
// the bridge retries after each executed cell while the panel is visible.
import type { JSONObject } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';
import type { KernelLink, SidebarModel, ConnectionState } from './model';
import { COMM_TARGET, PROTOCOL_VERSION, ProtocolError, type Request, makeRequest, parseKernelMessage } from './protocol';

/** The part of a JupyterLab comm (Kernel.IComm) the bridge uses. */
export interface CommLike {
  readonly isDisposed: boolean;
  // Method syntax: the real comm's callbacks take richer message types.
  onMsg(msg: { content: { data: unknown } }): void;
  onClose(msg: unknown): void;
  open(data: JSONObject): unknown;
  send(data: JSONObject): unknown;
  close(): unknown;
  dispose(): void;
}

/** The part of a kernel connection (Kernel.IKernelConnection) the bridge uses. */
export interface KernelLike {
  readonly id: string;
  readonly isDisposed: boolean;
  createComm(targetName: string): CommLike;
  interrupt(): Promise<void>;
}

/** An iopub message, as far as the bridge looks at it. */
export interface IopubLike {
  header: { msg_type: string };
  parent_header: object;
  content: object;
}

/** The part of a notebook's ISessionContext the bridge uses. */
export interface SessionLike {
  readonly session: { readonly kernel: KernelLike | null } | null;
  readonly isDisposed: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the sender types differ between the real and fake contexts
  readonly kernelChanged: ISignal<any, unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly statusChanged: ISignal<any, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly iopubMessage: ISignal<any, IopubLike>;
}

const RESTARTING = new Set(['restarting', 'autorestarting']);

/** A request as the JSON object a comm sends (requests hold JSON values only). */
function wire(request: Request): JSONObject {
  return request as unknown as JSONObject;
}

export class KernelBridge implements KernelLink, IDisposable {
  constructor(model: SidebarModel) {
    this._model = model;
    model.setLink(this);
  }

  get state(): ConnectionState {
    return this._state;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Follows another notebook (or none); `label` names it in the panel. */
  setSession(session: SessionLike | null, label = ''): void {
    if (session === this._session) return;
    this._unbind();
    this._session = session;
    this._label = label;
    if (session) {
      session.kernelChanged.connect(this._onKernelChanged, this);
      session.statusChanged.connect(this._onStatus, this);
      session.iopubMessage.connect(this._onIopub, this);
    }
    this.connect();
  }

  /** The panel is shown (true) or hidden: only a visible panel retries a failed connection. */
  setActive(active: boolean): void {
    this._active = active;
    if (active && (this._state === 'not-imported' || this._state === 'disconnected')) this.connect();
  }

  /** Opens a fresh comm to the current kernel (disposing any old one); the first request is hello. */
  connect(): void {
    this._dropComm(true);
    const kernel = this._kernel();
    if (!this._session) {
      this._setState('no-notebook');
      return;
    }
    if (!kernel) {
      this._setState('no-kernel');
      return;
    }
    try {
      const comm = kernel.createComm(COMM_TARGET);
      comm.onMsg = (msg) => this._onMessage(comm, msg.content.data);
      comm.onClose = () => this._onClose(comm);
      this._comm = comm;
      this._setState('connecting');
      comm.open(wire(makeRequest('hello', `hello-${++this._hellos}`, {})));
    } catch (e) {
      this._comm = null;
      this._setState('no-kernel', e instanceof Error ? e.message : String(e));
    }
  }

  send(request: Request): boolean {
    if (!this._comm || this._comm.isDisposed || this._state !== 'connected') return false;
    try {
      this._comm.send(wire(request));
      return true;
    } catch {
      return false;
    }
  }

  interrupt(): void {
    void this._kernel()?.interrupt();
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._unbind();
    this._model.setLink(null);
  }

  // ---- events ------------------------------------------------------------------------------

  private _onMessage(comm: CommLike, data: unknown): void {
    if (comm !== this._comm) return; // a late message on a comm we already dropped
    let msg;
    try {
      msg = parseKernelMessage(data);
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      const version = (data as { v?: unknown } | null)?.v;
      if (e instanceof ProtocolError && version !== PROTOCOL_VERSION) {
        this._setState('incompatible', text);
      } else {
        this._model.notify('protocol', `The kernel sent a message the panel does not understand: ${text}`);
      }
      return;
    }
    if (msg.type === 'welcome') {
      if (msg.protocol !== PROTOCOL_VERSION) {
        this._setState('incompatible', `the kernel's lenslab ${msg.lenslab_version} speaks protocol ${msg.protocol}, this panel ${PROTOCOL_VERSION}`);
        return;
      }
      this._welcomed = true;
      this._setState('connected');
    } else if (msg.type === 'error' && msg.code === 'unsupported_version') {
      this._setState('incompatible', msg.message);
      return;
    }
    this._model.handle(msg);
  }

  private _onClose(comm: CommLike): void {
    if (comm !== this._comm) return;
    this._comm = null;
    this._setState(this._welcomed ? 'disconnected' : 'not-imported');
    this._welcomed = false;
  }

  private _onKernelChanged(): void {
    this.connect(); // drops the old kernel's comm (closing it there) and opens one to the new kernel
  }

  private _onStatus(_: unknown, status: string): void {
    if (RESTARTING.has(status)) {
      // The restart disposes the kernel's comms; the jobs and results died with the kernel.
      this._dropComm(false);
      this._setState('restarting');
    } else if (status === 'dead') {
      this._dropComm(false);
      this._setState('no-kernel', 'the kernel died');
    } else if (status === 'idle' && this._state === 'restarting') {
      this.connect();
    }
  }

  private _onIopub(_: unknown, msg: IopubLike): void {
    if (msg.header.msg_type !== 'status' || (msg.content as { execution_state?: string }).execution_state !== 'idle') return;
    // Only a finished cell counts: our own comm traffic makes the kernel busy and idle too.
    if ((msg.parent_header as { msg_type?: string }).msg_type !== 'execute_request') return;
    if (this._state === 'connected') {
      this._model.cellExecuted();
    } else if (this._active && (this._state === 'not-imported' || this._state === 'disconnected')) {
      this.connect();
    }
  }

  // ---- helpers -------------------------------------------------------------------------------------

  private _kernel(): KernelLike | null {
    const kernel = this._session && !this._session.isDisposed ? (this._session.session?.kernel ?? null) : null;
    return kernel && !kernel.isDisposed ? kernel : null;
  }

  private _dropComm(closeIt: boolean): void {
    const comm = this._comm;
    this._comm = null;
    this._welcomed = false;
    if (comm && !comm.isDisposed) {
      try {
        if (closeIt) comm.close();
        else comm.dispose();
      } catch {
        // the kernel is gone already
      }
    }
  }

  private _unbind(): void {
    this._dropComm(true);
    const session = this._session;
    if (session && !session.isDisposed) {
      session.kernelChanged.disconnect(this._onKernelChanged, this);
      session.statusChanged.disconnect(this._onStatus, this);
      session.iopubMessage.disconnect(this._onIopub, this);
    }
    this._session = null;
  }

  private _setState(state: ConnectionState, detail = ''): void {
    this._state = state;
    this._model.setConnection(state, detail, this._label);
  }

  private _model: SidebarModel;
  private _session: SessionLike | null = null;
  private _label = '';
  private _comm: CommLike | null = null;
  private _welcomed = false;
  private _active = false;
  private _state: ConnectionState = 'no-notebook';
  private _hellos = 0;
  private _disposed = false;
}
