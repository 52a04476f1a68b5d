// The bridge follows the notebook's kernel: one comm per kernel, re-opened on kernel change and
// restart, "not imported" when the kernel closes the comm, retries after a cell while visible.
import { beforeEach, describe, expect, it } from 'vitest';
import { KernelBridge } from '../src/kernel';
import { SidebarModel } from '../src/model';
import { FakeKernel, FakeSession, checked, modelInfo, welcome } from './fakes';

describe('KernelBridge', () => {
  let model: SidebarModel;
  let bridge: KernelBridge;
  let session: FakeSession;

  beforeEach(() => {
    model = new SidebarModel({ idPrefix: 'k' });
    bridge = new KernelBridge(model);
    session = new FakeSession(new FakeKernel('k1'));
  });

  /** The kernel answers the hello on its newest comm. */
  function welcomeOn(kernel: FakeKernel): void {
    const hello = kernel.comm.opened[0] as { id: string; type: string };
    expect(hello).toMatchObject({ v: 4, type: 'hello' });
    kernel.comm.receive(checked(welcome(hello.id)));
  }

  it('opens a comm with hello and becomes connected on welcome', () => {
    bridge.setSession(session, 'a.ipynb');
    expect(bridge.state).toBe('connecting');
    expect(model.notebook).toBe('a.ipynb');
    welcomeOn(session.kernel);
    expect(bridge.state).toBe('connected');
    expect(model.connection).toBe('connected');
    // The model's requests now go over that comm.
    expect(session.kernel.comm.sent.map((m) => (m as { type: string }).type)).toEqual(['list_models', 'list_jobs']);
  });

  it('says "not imported" when the kernel closes the comm before answering, and retries after a cell', () => {
    bridge.setSession(session);
    session.kernel.comm.kernelCloses();
    expect(bridge.state).toBe('not-imported');
    session.cellFinished(); // hidden panel: no retry
    expect(session.kernel.comms).toHaveLength(1);
    bridge.setActive(true); // shown: retries at once
    expect(session.kernel.comms).toHaveLength(2);
    session.kernel.comm.kernelCloses();
    session.commFinished(); // our own traffic does not count as a cell
    expect(session.kernel.comms).toHaveLength(2);
    session.cellFinished(); // e.g. `import lenslab` ran
    expect(session.kernel.comms).toHaveLength(3);
    welcomeOn(session.kernel);
    expect(bridge.state).toBe('connected');
  });

  it('refreshes the models after each executed cell once connected', () => {
    bridge.setSession(session);
    welcomeOn(session.kernel);
    const comm = session.kernel.comm;
    const before = comm.sent.length;
    session.cellFinished();
    expect(comm.sent.slice(before).map((m) => (m as { type: string }).type)).toEqual(['list_models']);
  });

  it('disposes the comm on restart and opens a new one once the kernel is idle', () => {
    bridge.setSession(session);
    welcomeOn(session.kernel);
    const old = session.kernel.comm;
    session.status('restarting');
    expect(bridge.state).toBe('restarting');
    expect(old.isDisposed).toBe(true);
    expect(model.models).toEqual([]);
    session.status('starting');
    expect(session.kernel.comms).toHaveLength(1);
    session.status('idle');
    expect(session.kernel.comms).toHaveLength(2);
    expect(bridge.state).toBe('connecting');
    old.receive(checked(welcome('late'))); // a late message on the disposed comm is ignored
    expect(bridge.state).toBe('connecting');
  });

  it('moves to a new kernel, closing the comm to the old one', () => {
    bridge.setSession(session);
    welcomeOn(session.kernel);
    const oldKernel = session.kernel;
    const next = new FakeKernel('k2');
    session.changeKernel(next);
    expect(oldKernel.comm.closed).toBe(true);
    expect(next.comms).toHaveLength(1);
    expect(bridge.state).toBe('connecting');
    session.changeKernel(null);
    expect(bridge.state).toBe('no-kernel');
    expect(next.comm.closed).toBe(true);
  });

  it('follows the active notebook and lets go of the previous one', () => {
    bridge.setSession(session, 'a.ipynb');
    welcomeOn(session.kernel);
    const other = new FakeSession(new FakeKernel('k3'));
    bridge.setSession(other, 'b.ipynb');
    expect(session.kernel.comm.closed).toBe(true);
    expect(model.notebook).toBe('b.ipynb');
    session.cellFinished(); // the old notebook's cells no longer reach the bridge
    expect(other.kernel.comms).toHaveLength(1);
    bridge.setSession(null);
    expect(bridge.state).toBe('no-notebook');
    expect(new KernelBridge(new SidebarModel()).state).toBe('no-notebook');
  });

  it('reports a notebook without a kernel and a dead kernel', () => {
    bridge.setSession(new FakeSession(null));
    expect(bridge.state).toBe('no-kernel');
    bridge.setSession(session);
    welcomeOn(session.kernel);
    session.status('dead');
    expect(bridge.state).toBe('no-kernel');
    expect(model.connectionDetail).toBe('the kernel died');
  });

  it('detects another protocol version', () => {
    bridge.setSession(session);
    session.kernel.comm.receive({ ...welcome(), v: 5 });
    expect(bridge.state).toBe('incompatible');
    expect(model.connectionDetail).toMatch(/protocol version 5/);
    bridge.connect();
    session.kernel.comm.receive(checked({ v: 4, type: 'error', id: 'hello-2', request_type: 'hello', code: 'unsupported_version', message: 'v2 only' }));
    expect(bridge.state).toBe('incompatible');
  });

  it('turns a malformed message into a notice and keeps the connection', () => {
    bridge.setSession(session);
    welcomeOn(session.kernel);
    session.kernel.comm.receive({ v: 4, type: 'models', id: 'x' });
    expect(bridge.state).toBe('connected');
    expect(model.notices[0].message).toMatch(/does not understand.*models is missing/);
    session.kernel.comm.receive(checked({ v: 4, type: 'models', id: (session.kernel.comm.sent[0] as { id: string }).id, models: [modelInfo()] }));
    expect(model.models).toHaveLength(1);
  });

  it('sends only while connected, and interrupts the kernel on request', async () => {
    bridge.setSession(session);
    expect(bridge.send({ v: 4, type: 'list_models', id: 'a' })).toBe(false);
    welcomeOn(session.kernel);
    expect(bridge.send({ v: 4, type: 'list_models', id: 'b' })).toBe(true);
    bridge.interrupt();
    expect(session.kernel.interrupts).toBe(1);
    bridge.dispose();
    expect(bridge.isDisposed).toBe(true);
    expect(session.kernel.comm.closed).toBe(true);
  });
});
