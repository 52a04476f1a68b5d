import { describe, expect, it } from 'vitest';
import { fakeModel } from './test_utils';
import { sendTrait } from './widget';

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
