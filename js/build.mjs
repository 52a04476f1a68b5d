// Bundles each widget into one ESM file under py_src/lenslab/static/ (anywidget's _esm),
// plus the shared stylesheet (anywidget's _css). Usage: node js/build.mjs [--minify] [--clean]
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'py_src', 'lenslab', 'static');
export const WIDGETS = ['attention', 'cache_explorer', 'patching_grid', 'colored_tokens', 'top_examples'];

const args = new Set(process.argv.slice(2));
if (args.has('--clean')) {
  await rm(outdir, { recursive: true, force: true });
  console.log(`removed ${outdir}`);
  process.exit(0);
}
const minify = args.has('--minify');
const started = Date.now();
const common = { bundle: true, minify, logLevel: 'warning', legalComments: 'none', metafile: true };
const results = await Promise.all([
  ...WIDGETS.map((name) =>
    build({
      ...common,
      entryPoints: [join(root, 'js', 'src', name, 'index.ts')],
      outfile: join(outdir, `${name}.js`),
      format: 'esm',
      target: 'es2020',
    }),
  ),
  build({ ...common, entryPoints: [join(root, 'js', 'src', 'shared', 'style.css')], outfile: join(outdir, 'lenslab.css') }),
]);
for (const result of results) {
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    console.log(`${file.replace(root + '/', '')}  ${(info.bytes / 1024).toFixed(1)} KiB`);
  }
}
console.log(`built ${WIDGETS.length} widget bundles${minify ? ' (minified)' : ''} in ${Date.now() - started} ms`);
