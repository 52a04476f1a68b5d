// Token display helpers for the widgets; the element helper `h` is the shared one in ts/core/dom.ts.

export { h } from '../../../ts/core/dom';

/**
 * Makes whitespace in a token visible and keeps it on one line: a line break of any kind
 * (\n, \r\n, \r, U+2028/2029/0085, \v, \f) becomes "\u21b5", a tab "\u21e5". These narrow arrows
 * render at text width in every font (U+23CE did not: a chip hundreds of pixels wide).
 */
export function displayToken(token: string, maxChars = 24): string {
  let s = token.replace(/\r\n|[\n\r\u2028\u2029\u0085\v\f]/g, '\u21b5').replace(/\t/g, '\u21e5');
  if (s.length > maxChars) s = s.slice(0, maxChars - 1) + '\u2026';
  return s;
}

/** " 'tok'" after a position, or nothing when the label is just the position's index. */
export function tokenSuffix(labels: readonly string[], i: number): string {
  const label = labels[i];
  return label === undefined || label === String(i) ? '' : ` ${quoteToken(label)}`;
}

/** Quoted form for readouts: ' cat' stays visibly space-led. */
export function quoteToken(token: string): string {
  return `\u201c${displayToken(token, 40)}\u201d`;
}

/** Runs `fn` at most once per animation frame (falls back to a microtask in tests). */
export function frameThrottle(fn: () => void): () => void {
  let pending = false;
  const schedule: (cb: () => void) => void =
    typeof requestAnimationFrame === 'function' ? (cb) => void requestAnimationFrame(cb) : (cb) => void Promise.resolve().then(cb);
  return () => {
    if (pending) return;
    pending = true;
    schedule(() => {
      pending = false;
      fn();
    });
  };
}

/** Milliseconds since an arbitrary origin, monotonic where the platform allows. */
export function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
