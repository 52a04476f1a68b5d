// Identifiers of the sidebar plugin, its command and the token other plugins can require.
import { Token } from '@lumino/coreutils';
import type { SidebarPanel } from './components/panel';
import type { SidebarModel } from './model';

export const PLUGIN_ID = 'lenslab:sidebar';
export const SIDEBAR_ID = 'lenslab-sidebar';

export enum CommandIDs {
  open = 'lenslab:open-sidebar'
}

/** The mimetype ipywidgets renders a widget view from (the PatchingGrid in the result view). */
export const WIDGET_VIEW_MIMETYPE = 'application/vnd.jupyter.widget-view+json';

export interface ILensLabSidebar {
  readonly model: SidebarModel;
  readonly panel: SidebarPanel;
}

export const ILensLabSidebar = new Token<ILensLabSidebar>('lenslab:ILensLabSidebar', 'The LensLab sidebar: its state and panel.');

/** The sidebar tab's icon: a lens over a small grid. */
export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
<g class="jp-icon3" fill="#616161">
<path d="M10 2a8 8 0 0 1 6.32 12.9l5.39 5.39-1.42 1.42-5.39-5.39A8 8 0 1 1 10 2zm0 2a6 6 0 1 0 0 12 6 6 0 0 0 0-12z"/>
<rect x="6.5" y="6.5" width="3" height="3"/><rect x="10.5" y="6.5" width="3" height="3"/><rect x="6.5" y="10.5" width="3" height="3"/>
</g></svg>`;
