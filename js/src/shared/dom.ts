// Tiny DOM helpers. Text always goes through textContent: tokens come from user data.

type Attrs = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key === 'text') el.textContent = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** Makes whitespace in a token visible and keeps it on one line. */
export function displayToken(token: string, maxChars = 24): string {
  let s = token.replace(/\n/g, '\u23ce').replace(/\t/g, '\u21e5').replace(/\r/g, '');
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
