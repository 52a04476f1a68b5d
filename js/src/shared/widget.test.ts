import { CommandRegistry } from '@lumino/commands';
import { afterEach, describe, expect, it } from 'vitest';
import { OPEN_IN_TAB_EVENT, OPEN_IN_TAB_MARKER } from '../../../ts/core/open_in_tab';
import { divergingScale } from './colorscale';
import { h } from './dom';
import { fakeModel, flush } from './test_utils';
import { chipStrip } from './token_chips';
import { createShell, sendTrait } from './widget';

describe('sendTrait', () => {
  it('sets the trait, fires its change and sends it to Python once per call', () => {
    const model = fakeModel({ selected: 'a', batch: 0 });
    const seen: string[] = [];
    model.on('change:selected', () => seen.push(model.get('selected')));
    const pick = sendTrait(model, 'selected');
    pick('blocks.0.hook_resid_pre');
    expect(model.get('selected')).toBe('blocks.0.hook_resid_pre');
    expect(seen).toEqual(['blocks.0.hook_resid_pre']);
    expect(model.saved).toBe(1);
    sendTrait(model, 'batch')(3);
    expect(model.get('batch')).toBe(3);
    expect(model.saved).toBe(2);
  });
});

describe('createShell: Open in tab', () => {
  const figure = (): never => {
    throw new Error('not exported here');
  };
  afterEach(() => {
    delete document.body.dataset[OPEN_IN_TAB_MARKER];
  });

  it('has no button when no JupyterLab extension listens', () => {
    const shell = createShell('patching', figure, () => 'grid');
    expect(shell.toolbar.querySelector('.lenslab-open-tab')).toBeNull();
    // the export buttons are still there
    expect(shell.toolbar.querySelectorAll('.lenslab-export button')).toHaveLength(2);
  });

  it('with the marker, shows the button, whose click bubbles the event from the widget', () => {
    document.body.dataset[OPEN_IN_TAB_MARKER] = '1';
    const shell = createShell('patching', figure, () => 'grid');
    const button = shell.toolbar.querySelector<HTMLButtonElement>('button.lenslab-open-tab');
    expect(button?.textContent).toBe('Open in tab');
    const cell = document.createElement('div');
    cell.append(shell.root);
    document.body.append(cell);
    const seen: EventTarget[] = [];
    const onEvent = (e: Event): void => void seen.push(e.target!);
    cell.addEventListener(OPEN_IN_TAB_EVENT, onEvent);
    try {
      button!.click();
      expect(seen).toEqual([button]);
      expect(shell.root.contains(seen[0] as Node)).toBe(true);
    } finally {
      cell.remove();
    }
  });
});

describe('JupyterLab shortcuts never see keys pressed inside a widget', () => {
  // JupyterLab's own command registry and key bindings (selectors as in its notebook-extension
  // schema, 4.6), fed from document in the bubbling phase as JupyterLab >= 4.1 does.
  const KEY_CODES: Record<string, number> = { Enter: 13, Escape: 27, ArrowDown: 40, ArrowRight: 39, a: 65, b: 66, s: 83 };
  const COMMAND_MODE = '.jp-Notebook.jp-mod-commandMode:not(.jp-mod-readWrite) :focus';
  let cleanup = (): void => undefined;
  afterEach(() => cleanup());

  function notebook() {
    const ran: string[] = [];
    const commands = new CommandRegistry();
    const bind = (id: string, keys: string[], selector: string): void => {
      commands.addCommand(id, { execute: () => void ran.push(id) });
      commands.addKeyBinding({ command: id, keys, selector });
    };
    bind('notebook:enter-edit-mode', ['Enter'], '.jp-Notebook.jp-mod-commandMode .jp-Cell:focus');
    bind('notebook:insert-cell-above', ['A'], COMMAND_MODE);
    bind('notebook:insert-cell-below', ['B'], COMMAND_MODE);
    bind('notebook:move-cursor-down', ['ArrowDown'], COMMAND_MODE);
    bind('docmanager:save', ['Accel S'], 'body');
    bind('notebook:run-cell-and-select-next', ['Shift Enter'], COMMAND_MODE);
    bind('notebook:enter-command-mode', ['Escape'], COMMAND_MODE);
    const listener = (ev: KeyboardEvent): void => commands.processKeydownEvent(ev);
    document.addEventListener('keydown', listener);
    const cell = h('div', { class: 'jp-Cell', tabindex: -1 });
    document.body.append(h('div', { class: 'jp-Notebook jp-mod-commandMode' }, cell));
    const press = async (el: Element, key: string, modifiers: KeyboardEventInit = {}): Promise<void> => {
      const ev = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...modifiers });
      Object.defineProperty(ev, 'keyCode', { value: KEY_CODES[key] });
      el.dispatchEvent(ev);
      await flush();
    };
    cleanup = (): void => {
      document.removeEventListener('keydown', listener);
      document.body.replaceChildren();
    };
    return { ran, cell, press };
  }

  function shellWithChips() {
    const shell = createShell('colored-tokens', () => ({ width: 1, height: 1, background: '#fff', items: [] }), () => 'tokens');
    const strip = chipStrip(['The', ' cat'], [1, -1], divergingScale(1));
    shell.root.append(strip.el);
    return { shell, chips: strip.chips };
  }

  it('the bindings act on keys pressed on the cell itself (the harness works)', async () => {
    const nb = notebook();
    nb.cell.focus();
    await nb.press(nb.cell, 'Enter');
    await nb.press(nb.cell, 'a');
    expect(nb.ran).toEqual(['notebook:enter-edit-mode', 'notebook:insert-cell-above']);
  });

  it('Enter, A, B and ArrowDown on a focused chip reach no shortcut; arrows the strip uses still move', async () => {
    const nb = notebook();
    const { shell, chips } = shellWithChips();
    nb.cell.append(shell.root);
    chips[0].focus();
    for (const k of ['Enter', 'a', 'b', 'ArrowDown']) await nb.press(chips[0], k);
    await nb.press(chips[0], 'ArrowRight');
    expect(document.activeElement).toBe(chips[1]);
    await nb.press(chips[1], 'a');
    expect(nb.ran).toEqual([]);
  });

  it('Ctrl+S, Shift+Enter and Escape still reach JupyterLab from a focused chip', async () => {
    const nb = notebook();
    const { shell, chips } = shellWithChips();
    nb.cell.append(shell.root);
    chips[0].focus();
    await nb.press(chips[0], 's', { ctrlKey: true });
    await nb.press(chips[0], 'Enter', { shiftKey: true });
    await nb.press(chips[0], 'Escape');
    expect(nb.ran).toEqual(['docmanager:save', 'notebook:run-cell-and-select-next', 'notebook:enter-command-mode']);
  });
});
