// anywidget entry point of CacheExplorer (py_src/lenslab/widgets/cache_explorer.py).
// The kernel owns the cache: the front end asks for a slice by setting selected /
// batch / head / pos, and the kernel answers with the slice bytes.
import type { RenderProps } from '@anywidget/types';
import { decodeTensor } from '../shared/tensor';
import type { CacheModel } from '../shared/types';
import { mountWidget, onTrait, onTraits, sendTrait } from '../shared/widget';
import { CacheView } from './view';

function render({ model, el }: Pick<RenderProps<CacheModel>, 'model' | 'el'>): () => void {
  return mountWidget(
    el,
    {
      kind: 'cache',
      basename: () => model.get('selected') || 'activation_cache',
      makeView: () =>
        new CacheView({
          onSelect: sendTrait(model, 'selected'),
          onControl: (key, value) => sendTrait(model, key)(value),
        }),
    },
    ({ view, shell, timed }) => {
      const drawTree = (): void => {
        const hooks = model.get('hooks');
        shell.title.textContent = model.get('title') || 'Activation cache';
        shell.meta.textContent = `${hooks.length} hook${hooks.length === 1 ? '' : 's'}`;
        view.setHooks(hooks, model.get('selected'));
      };
      const drawSlice = timed(() => {
        const name = model.get('selected');
        view.setDetail(model.get('hooks').find((hk) => hk.name === name));
        view.setControls(model.get('controls'), { batch: model.get('batch'), head: model.get('head'), pos: model.get('pos') }, model.get('tokens'));
        const tensor = decodeTensor(model.get('data'), model.get('dtype'), model.get('shape'));
        view.setSlice({
          view: model.get('view'),
          tensor,
          tokens: model.get('tokens'),
          rowAxis: model.get('row_axis'),
          colAxis: model.get('col_axis'),
          rowLabels: model.get('row_labels'),
          colLabels: model.get('col_labels'),
          layer: model.get('layer'),
          message: model.get('message'),
          title: name,
        });
      });
      drawTree();
      drawSlice();
      return [
        onTraits(model, ['hooks', 'title'], drawTree),
        onTraits(
          model,
          ['revision', 'data', 'dtype', 'shape', 'view', 'tokens', 'row_axis', 'col_axis', 'row_labels', 'col_labels', 'layer', 'message', 'controls'],
          drawSlice,
        ),
        // A click already marked the row; only a selection made from Python redraws the tree.
        onTrait(model, 'selected', () => {
          if (view.selected !== model.get('selected')) view.setHooks(model.get('hooks'), model.get('selected'));
        }),
      ];
    },
  );
}

export default { render };
