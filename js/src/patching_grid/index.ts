// anywidget entry point of PatchingGrid (py_src/lenslab/widgets/patching_grid.py).
import type { RenderProps } from '@anywidget/types';
import { now } from '../shared/dom';
import { decodeTensor } from '../shared/tensor';
import type { PatchingModel } from '../shared/types';
import { createShell, errorText, onTraits, recordPaint } from '../shared/widget';
import { PatchingView } from './view';

function render({ model, el }: Pick<RenderProps<PatchingModel>, 'model' | 'el'>): () => void {
  let view: PatchingView | null = null;
  const shell = createShell('patching', () => view!.figure(), () => model.get('title') || 'patching');
  view = new PatchingView({
    toolbar: shell.toolbar,
    onSelect: (sel) => {
      model.set('selected', sel);
      model.save_changes();
    },
  });
  shell.root.append(view.el);
  el.append(shell.root);

  const draw = (): void => {
    const t0 = now();
    try {
      const values = decodeTensor(model.get('data'), model.get('dtype'), model.get('shape'));
      const [P, R, C] = values.shape;
      shell.title.textContent = model.get('title') || 'Patching results';
      const axes = `${model.get('row_axis') || 'rows'} \u00d7 ${model.get('col_axis') || 'cols'}`;
      shell.meta.textContent = `${P > 1 ? `${P} panels \u00b7 ` : ''}${R} \u00d7 ${C} (${axes})`;
      view!.update({
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
      shell.showError(null);
    } catch (e) {
      shell.showError(errorText(e));
    }
    shell.root.dataset.renderMs = (now() - t0).toFixed(1);
    recordPaint(shell.root, t0);
  };
  draw();
  const off = onTraits(
    model,
    ['data', 'dtype', 'shape', 'panel_titles', 'row_labels', 'col_labels', 'row_axis', 'col_axis', 'vmax', 'title'],
    draw,
  );
  const onSelected = (): void => view!.showSelected(model.get('selected'));
  model.on('change:selected', onSelected);
  return () => {
    off();
    model.off('change:selected', onSelected);
    shell.root.remove();
  };
}

export default { render };
