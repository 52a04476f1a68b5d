import { afterEach, describe, expect, it } from 'vitest';
import { OPEN_IN_TAB_EVENT, OPEN_IN_TAB_MARKER } from '../../../ts/core/open_in_tab';
import { fakeModel } from './test_utils';
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
