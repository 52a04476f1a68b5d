// anywidget entry point of TopExamples (py_src/lenslab/widgets/top_examples.py).
import type { RenderProps } from '@anywidget/types';
import { formatValue } from '../shared/colorscale';
import { decodeTensor } from '../shared/tensor';
import type { TopExamplesModel } from '../shared/types';
import { mountWidget, onTraits } from '../shared/widget';
import { TopExamplesView } from './view';

function render({ model, el }: Pick<RenderProps<TopExamplesModel>, 'model' | 'el'>): () => void {
  return mountWidget(
    el,
    { kind: 'top-examples', basename: () => model.get('title') || 'top_examples', makeView: () => new TopExamplesView() },
    ({ view, shell, timed }) => {
      const draw = timed(() => {
        const values = decodeTensor(model.get('data'), model.get('dtype'), model.get('shape'));
        const k = model.get('lengths').length;
        const cmap = model.get('cmap');
        shell.title.textContent = model.get('title') || 'Top activating examples';
        const range = cmap === 'diverging' ? `\u00b1${formatValue(model.get('vmax'), 3)}` : `${formatValue(model.get('vmin'), 3)}..${formatValue(model.get('vmax'), 3)}`;
        shell.meta.textContent = `${k} example${k === 1 ? '' : 's'} \u00b7 ${cmap} ${range}`;
        view.update({
          tokens: model.get('tokens'),
          values: values.data,
          lengths: model.get('lengths'),
          scores: model.get('scores'),
          maxPositions: model.get('max_positions'),
          histCounts: model.get('hist_counts'),
          histEdges: model.get('hist_edges'),
          cmap,
          vmin: model.get('vmin'),
          vmax: model.get('vmax'),
          title: model.get('title'),
        });
      });
      draw();
      return [onTraits(model, ['data', 'dtype', 'shape', 'tokens', 'lengths', 'scores', 'max_positions', 'hist_counts', 'hist_edges', 'cmap', 'vmin', 'vmax', 'title'], draw)];
    },
  );
}

export default { render };
