// The hooked models in the kernel's namespace; clicking one shows its hook points.
import type { ModelInfo } from '../protocol';
import type { SidebarModel } from '../model';
import { el, renderIfChanged, section } from './dom';

export function modelSummary(m: ModelInfo): string {
  const mlp = m.d_mlp === null ? 'no MLP' : `d_mlp ${m.d_mlp}`;
  return `${m.n_layers} layers · ${m.n_heads} heads · d_model ${m.d_model} · d_head ${m.d_head} · ${mlp} · ${m.device} · ${m.dtype}`;
}

/** What a model row calls the model: its checkpoint ("lenslab/gelu-2l"), else its class for a
 *  model built from a config. The architecture class stays in the tooltip. */
export function modelLabel(m: ModelInfo): string {
  return m.checkpoint ?? `${m.class_name}, built from a config`;
}

export class ModelsView {
  readonly node: HTMLElement;

  constructor(private readonly _model: SidebarModel) {
    this._list = el('div', { class: 'lenslab-sb-models', role: 'listbox', 'aria-label': 'Models' });
    this.node = section('Models', 'lenslab-sb-models-section', this._list);
  }

  update(): void {
    const m = this._model;
    const selected = m.selectedModel?.name ?? null;
    renderIfChanged(this._list, JSON.stringify([m.connection, m.models, selected]), () => {
      if (m.connection !== 'connected') return [el('p', { class: 'lenslab-sb-empty', text: 'Not connected.' })];
      if (!m.models.length) {
        return [
          el('p', {
            class: 'lenslab-sb-empty lenslab-sb-no-models',
            text: 'No hooked models in the kernel yet. Load one in the notebook, e.g. model = HookedTransformer.from_pretrained("lenslab/attn-only-2l").'
          })
        ];
      }
      return m.models.map((info) => {
        const row = el(
          'div',
          {
            class: `lenslab-sb-model${info.name === selected ? ' lenslab-sb-selected' : ''}`,
            role: 'option',
            'aria-selected': info.name === selected ? 'true' : 'false',
            tabindex: 0,
            'data-model': info.name,
            title: `${info.name}: ${modelLabel(info)}\n${info.class_name} · ${info.architecture}`
          },
          el('div', { class: 'lenslab-sb-model-name' }, el('code', { text: info.name }), ' ', el('span', { class: 'lenslab-sb-checkpoint', text: modelLabel(info) })),
          el('div', { class: 'lenslab-sb-model-dims', text: modelSummary(info) })
        );
        const pick = (): void => m.selectModel(info.name);
        row.addEventListener('click', pick);
        row.addEventListener('keydown', (e) => {
          if (e.key === 'Enter' || e.key === ' ') pick();
        });
        return row;
      });
    });
  }

  private _list: HTMLElement;
}
