// Model interfaces of the widgets: generated from the synced traits of the Python widget classes
// (py_src/lenslab/widgets/trait_schema.py -> js/test/fixtures/traits.schema.json ->
// scripts/gen_traits.mjs -> js/src/generated/traits.ts); a stale file fails js/src/shared/generated.test.ts.
export type {
  AttentionModel,
  BaseModel,
  CacheModel,
  CellSelection,
  Cmap,
  ColoredTokensModel,
  DType,
  HookInfo,
  PatchingModel,
  SliceControls,
  SliceView,
  TopExamplesModel,
  ViewBy
} from '../generated/traits';
