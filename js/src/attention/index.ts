// anywidget entry point of AttentionPatterns (py_src/lenslab/widgets/attention.py).
import type { RenderProps } from '@anywidget/types';
import { decodeTensor } from '../shared/tensor';
import type { AttentionModel } from '../shared/types';
import { mountWidget, onTrait, onTraits, sendTrait } from '../shared/widget';
import { AttentionView, headName } from './view';

function render({ model, el }: Pick<RenderProps<AttentionModel>, 'model' | 'el'>): () => void {
  return mountWidget(
    el,
    {
      kind: 'attention',
      basename: () => `${model.get('title') || 'attention'}_${headName(model.get('head_names'), model.get('selected_head'))}`,
      makeView: (shell) =>
        new AttentionView({
          toolbar: shell.toolbar,
          onSelectHead: sendTrait(model, 'selected_head'),
          onViewBy: sendTrait(model, 'view_by'),
        }),
    },
    ({ view, shell, timed }) => {
      const draw = timed(() => {
        const pattern = decodeTensor(model.get('data'), model.get('dtype'), model.get('shape'));
        const [H, D] = pattern.shape;
        shell.title.textContent = model.get('title') || 'Attention patterns';
        shell.meta.textContent = `${H} head${H === 1 ? '' : 's'} \u00b7 ${D} token${D === 1 ? '' : 's'}`;
        view.update({
          pattern,
          tokens: model.get('tokens'),
          headNames: model.get('head_names'),
          selected: model.get('selected_head'),
          vmax: model.get('vmax'),
          title: model.get('title'),
          viewBy: model.get('view_by'),
        });
      });
      draw();
      return [
        onTraits(model, ['data', 'dtype', 'shape', 'tokens', 'head_names', 'vmax', 'title'], draw),
        onTrait(model, 'selected_head', () => view.selectHead(model.get('selected_head'))),
        onTrait(model, 'view_by', () => view.setViewBy(model.get('view_by'))),
      ];
    },
  );
}

export default { render };
