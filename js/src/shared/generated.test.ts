// The generated widget model interfaces (js/src/generated/traits.ts) must be what
// scripts/gen_traits.mjs makes from the committed trait schema: a trait change without
// `jlpm gen:traits` fails here (tests/lenslab/test_trait_schema.py checks the schema itself).
import { execFileSync } from 'node:child_process';
// Node's URL: under happy-dom the global URL is the DOM's.
import { URL as NodeURL, fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('js/src/generated/traits.ts', () => {
  it('is up to date with js/test/fixtures/traits.schema.json', () => {
    const root = fileURLToPath(new NodeURL('../../..', import.meta.url));
    let stderr = '';
    try {
      execFileSync(process.execPath, ['scripts/gen_traits.mjs', '--check'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      stderr = (e as { stderr: string }).stderr || String(e);
    }
    expect(stderr).toBe('');
  }, 30_000);
});
