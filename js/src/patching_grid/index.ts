// anywidget entry point of PatchingGrid (py_src/lenslab/widgets/patching_grid.py).
import type { RenderProps } from '@anywidget/types';
import { decodeTensor } from '../shared/tensor';
import type { PatchingModel } from '../shared/types';
import { mountWidget, onTrait, onTraits, sendTrait } from '../shared/widget';
import { PatchingView } from './view';

function render({ model, el }: Pick<RenderProps<PatchingModel>, 'model' | 'el'>): () => void {
  return mountWidget(
    el,
    {
      kind: 'patching',
      basename: () => model.get('title') || 'patching',
      makeView: (shell) =>
        new PatchingView({
          toolbar: shell.toolbar,
          onSelect: sendTrait(model, 'selected'),
        }),
    },
    ({ view, shell, timed }) => {
      const draw = timed(() => {
        const values = decodeTensor(model.get('data'), model.get('dtype'), model.get('shape'));
        const [P, R, C] = values.shape;
        shell.title.textContent = model.get('title') || 'Patching results';
        const axes = `${model.get('row_axis') || 'rows'} \u00d7 ${model.get('col_axis') || 'cols'}`;
        shell.meta.textContent = `${P > 1 ? `${P} panels \u00b7 ` : ''}${R} \u00d7 ${C} (${axes})`;
        view.update({
          values,
          panelTitles: model.get('panel_titles'),
          rowLabels: model.get('row_labels'),
          colLabels: model.get('col_labels'),
          rowAxis: model.get('row_axis'),
          colAxis: model.get('col_axis'),
          vmax: model.get('vmax'),
          title: model.get('title'),
          selected: model.get('selected'),
        });
      });
      draw();
      return [
        onTraits(model, ['data', 'dtype', 'shape', 'panel_titles', 'row_labels', 'col_labels', 'row_axis', 'col_axis', 'vmax', 'title'], draw),
        onTrait(model, 'selected', () => view.showSelected(model.get('selected'))),
      ];
    },
  );
}

export default { render };
