// anywidget entry point of AttentionPatterns (py_src/lenslab/widgets/attention.py).
import type { RenderProps } from '@anywidget/types';
import { now } from '../shared/dom';
import { decodeTensor } from '../shared/tensor';
import type { AttentionModel } from '../shared/types';
import { createShell, errorText, onTraits, recordPaint } from '../shared/widget';
import { AttentionView, headName } from './view';

function render({ model, el }: Pick<RenderProps<AttentionModel>, 'model' | 'el'>): () => void {
  let view: AttentionView | null = null;
  const shell = createShell(
    'attention',
    () => view!.figure(),
    () => `${model.get('title') || 'attention'}_${headName(model.get('head_names'), model.get('selected_head'))}`,
  );
  view = new AttentionView({
    toolbar: shell.toolbar,
    onSelectHead: (head) => {
      model.set('selected_head', head);
      model.save_changes();
    },
  });
  shell.root.append(view.el);
  el.append(shell.root);

  const draw = (): void => {
    const t0 = now();
    try {
      const pattern = decodeTensor(model.get('data'), model.get('dtype'), model.get('shape'));
      const [H, D] = pattern.shape;
      shell.title.textContent = model.get('title') || 'Attention patterns';
      shell.meta.textContent = `${H} head${H === 1 ? '' : 's'} \u00b7 ${D} token${D === 1 ? '' : 's'}`;
      view!.update({
        pattern,
        tokens: model.get('tokens'),
        headNames: model.get('head_names'),
        selected: model.get('selected_head'),
        vmax: model.get('vmax'),
        title: model.get('title'),
      });
      shell.showError(null);
    } catch (e) {
      shell.showError(errorText(e));
    }
    shell.root.dataset.renderMs = (now() - t0).toFixed(1);
    recordPaint(shell.root, t0);
  };
  draw();
  const offData = onTraits(model, ['data', 'dtype', 'shape', 'tokens', 'head_names', 'vmax', 'title'], draw);
  const onHead = (): void => view!.selectHead(model.get('selected_head'));
  model.on('change:selected_head', onHead);
  return () => {
    offData();
    model.off('change:selected_head', onHead);
    shell.root.remove();
  };
}

export default { render };
