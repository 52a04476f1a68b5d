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

/** The sidebar tab's icon: a prism splitting a beam into three rays (a lens on a model's
 *  activations), not a search magnifier. Filled shapes only, so JupyterLab's `.jp-icon3[fill]`
 *  rule recolours all of it with the theme. */
export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
<g class="jp-icon3" fill="#616161">
<path fill-rule="evenodd" d="M11 2.5 21 20H1zM11 6.6 4.5 18h13z"/>
<path d="M0 14.6 6.2 12.5l.5 1.4L.4 16z"/>
<path d="M15.6 11.1 24 7.6v1.7l-7.7 3z"/>
<path d="M16.7 13 24 12.3V14l-7.2.3z"/>
<path d="M17.6 15.1 24 17v1.8l-6.8-2.4z"/>
</g></svg>`;
