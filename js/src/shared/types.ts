// Model interfaces: each mirrors the synced traitlets of one Python widget class.
// Keep these in step with py_src/lenslab/widgets/*.py (the file is named above each interface).

/** Payload dtypes the kernel may send (see py_src/lenslab/widgets/_tensor_payload.py). */
export type DType = 'float16' | 'float32';

/** Traits every widget has (py_src/lenslab/widgets/_base.py: LensWidget). */
export interface BaseModel {
  /** Raw little-endian tensor bytes; arrives as a DataView. */
  data: DataView | null;
  dtype: DType;
  shape: number[];
  title: string;
}

/** py_src/lenslab/widgets/attention.py: AttentionPatterns. Tensor shape [heads, dest, src]. */
export interface AttentionModel extends BaseModel {
  tokens: string[];
  head_names: string[];
  selected_head: number;
  /** Top of the colour scale (patterns live in [0, 1]). */
  vmax: number;
}

/** One row of the cache tree (py_src/lenslab/widgets/cache_explorer.py: _hook_info). */
export interface HookInfo {
  name: string;
  group: string;
  component: string;
  shape: number[];
  dtype: string;
  mean: number | null;
  std: number | null;
  norm: number | null;
  nonfinite: number;
}

export type SliceView = 'heatmap' | 'line' | 'pattern' | 'empty';

/** Sizes of the slice controls; 0 means the control does not apply to this hook. */
export interface SliceControls {
  batch: number;
  head: number;
  pos: number;
}

/** py_src/lenslab/widgets/cache_explorer.py: CacheExplorer. Tensor = the current slice. */
export interface CacheModel extends BaseModel {
  hooks: HookInfo[];
  selected: string;
  batch: number;
  head: number;
  /** -1 means every position (heatmap); otherwise a line plot at that position. */
  pos: number;
  controls: SliceControls;
  view: SliceView;
  tokens: string[];
  row_axis: string;
  col_axis: string;
  row_labels: string[];
  col_labels: string[];
  /** Layer of the selected hook (-1 when it has none); names heads L{layer}H{h}. */
  layer: number;
  message: string;
  /** Bumped by the kernel each time it sends a new slice. */
  revision: number;
}

/** What a click on a patching cell sends back (Python fills in labels, value and index). */
export interface CellSelection {
  panel: number;
  row: number;
  col: number;
  [extra: string]: unknown;
}

/** py_src/lenslab/widgets/patching_grid.py: PatchingGrid. Tensor shape [panels, rows, cols]. */
export interface PatchingModel extends BaseModel {
  panel_titles: string[];
  row_labels: string[];
  col_labels: string[];
  row_axis: string;
  col_axis: string;
  /** Half-width of the symmetric colour range; 0 means max |value|. */
  vmax: number;
  selected: CellSelection | null;
}
