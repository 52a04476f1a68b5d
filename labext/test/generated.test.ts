// The generated protocol files (labext/src/generated/) must be what scripts/gen_protocol.mjs makes
// from the committed schema fixture: a schema change without `jlpm gen:protocol` fails here.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { URL as NodeURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new NodeURL('../..', import.meta.url));

describe('labext/src/generated', () => {
  it('is up to date with test/fixtures/protocol.schema.json', () => {
    let output = '';
    let status = 0;
    try {
      execFileSync(process.execPath, ['scripts/gen_protocol.mjs', '--check'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      const err = e as { status: number; stderr: string };
      status = err.status;
      output = err.stderr;
    }
    expect(output).toBe('');
    expect(status).toBe(0);
  }, 30_000);
});
