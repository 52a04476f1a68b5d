// anywidget entry point of ColoredTokens (py_src/lenslab/widgets/colored_tokens.py).
import type { RenderProps } from '@anywidget/types';
import { decodeTensor } from '../shared/tensor';
import type { ColoredTokensModel } from '../shared/types';
import { mountWidget, onTrait, onTraits } from '../shared/widget';
import { ColoredTokensView } from './view';
import { formatValue } from '../shared/colorscale';

function render({ model, el }: Pick<RenderProps<ColoredTokensModel>, 'model' | 'el'>): () => void {
  return mountWidget(
    el,
    {
      kind: 'colored-tokens',
      basename: () => model.get('title') || 'tokens',
      makeView: () =>
        new ColoredTokensView((c) => {
          model.set('column', c);
          model.save_changes();
        }),
    },
    ({ view, shell, timed }) => {
      const draw = timed(() => {
        const values = decodeTensor(model.get('data'), model.get('dtype'), model.get('shape'));
        const tokens = model.get('tokens');
        const cmap = model.get('cmap');
        shell.title.textContent = model.get('title') || 'Token values';
        const range = cmap === 'diverging' ? `\u00b1${formatValue(model.get('vmax'), 3)}` : `${formatValue(model.get('vmin'), 3)}..${formatValue(model.get('vmax'), 3)}`;
        shell.meta.textContent = `${tokens.length} token${tokens.length === 1 ? '' : 's'} \u00b7 ${cmap} ${range}`;
        view.update({
          tokens,
          values,
          columnLabels: model.get('column_labels'),
          column: model.get('column'),
          cmap,
          vmin: model.get('vmin'),
          vmax: model.get('vmax'),
          title: model.get('title'),
        });
      });
      draw();
      return [
        onTraits(model, ['data', 'dtype', 'shape', 'tokens', 'column_labels', 'cmap', 'vmin', 'vmax', 'title'], draw),
        onTrait(model, 'column', timed(() => view.showColumn(model.get('column')))),
      ];
    },
  );
}

export default { render };
