// Fitting a result grid into the sidebar: the widget is laid out at a comfortable width of its
// own (FIT_LAYOUT_WIDTH, so its title, labels and colourbar keep their proportions) and then
// scaled down as a whole to the panel's width, instead of being squeezed until labels wrap
// word by word or fall off the edge. "Open in tab" shows it at full size.

/** The width (CSS px) the result widget is laid out at before it is scaled into the sidebar. */
export const FIT_LAYOUT_WIDTH = 440;

/** The scale factor that fits content `natural` px wide into `available` px: at most 1 (never
 *  enlarged), and 1 while either size is unknown (0, before layout). */
export function fitScale(natural: number, available: number): number {
  if (!(natural > 0) || !(available > 0)) return 1;
  return Math.min(1, available / natural);
}

/**
 * Keeps `inner` (laid out FIT_LAYOUT_WIDTH wide, or wider when its content overflows) scaled to
 * `outer`'s width. A CSS transform leaves the layout alone, so the natural size is measured
 * unscaled and `outer`'s height is set to the scaled height. Returns a function that stops.
 */
export function keepFitted(outer: HTMLElement, inner: HTMLElement): () => void {
  inner.style.width = `${FIT_LAYOUT_WIDTH}px`;
  inner.style.transformOrigin = '0 0';
  const apply = (): void => {
    const natural = Math.max(FIT_LAYOUT_WIDTH, inner.scrollWidth);
    const k = fitScale(natural, outer.clientWidth);
    inner.style.transform = k < 1 ? `scale(${k})` : '';
    outer.style.height = k < 1 ? `${Math.ceil(inner.offsetHeight * k)}px` : '';
    outer.dataset.scale = k.toFixed(3);
  };
  apply();
  if (typeof ResizeObserver === 'undefined') return () => undefined;
  // Both sizes: the panel's width (sidebar dragged) and the widget's own (it draws after render).
  const observer = new ResizeObserver(() => apply());
  observer.observe(outer);
  observer.observe(inner);
  return () => observer.disconnect();
}
