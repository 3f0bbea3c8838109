// Builds the browser UI into dist/web: content-hashed assets under assets/
// (cached for a year by nginx) and the pages pointing at them: index.html,
// and the API reference (api/docs.html) with the API description it shows
// (api/openapi.json), made here from the routes' schemas (app/openapi.ts).
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { buildApiDocument } from '../app/openapi';

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'app', 'web');
const out = path.join(root, 'dist', 'web');

async function main(): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await mkdir(path.join(out, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: [
      path.join(src, 'main.ts'),
      path.join(src, 'style.css'),
      path.join(src, 'api-docs.ts'),
      path.join(root, 'node_modules', 'swagger-ui-dist', 'swagger-ui.css'),
    ],
    outdir: path.join(out, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    metafile: true,
    legalComments: 'none',
  });
  const names: Record<string, string> = {};
  for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    if (!meta.entryPoint) continue;
    const base = path.basename(meta.entryPoint).replace(/\.ts$/, '.js');
    names[base] = `/assets/${path.basename(file)}`;
  }
  const page = async (from: string, to: string) => {
    const html = (await readFile(path.join(src, from), 'utf8')).replace(/\{\{([\w.-]+)\}\}/g, (_, name: string) => {
      const hashed = names[name];
      if (!hashed) throw new Error(`${from} names ${name}, which the build did not produce`);
      return hashed;
    });
    await writeFile(path.join(out, to), html);
  };
  await mkdir(path.join(out, 'api'));
  await page('index.html', 'index.html');
  await page('api-docs.html', 'api/docs.html');
  const { version } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const description = JSON.stringify(buildApiDocument(version));
  await writeFile(path.join(out, 'api', 'openapi.json'), description);
  // The server-rendered public pages link this one by a stable name.
  await copyFile(path.join(src, 'public.css'), path.join(out, 'public.css'));
  // The size a browser downloads (nginx gzips), kept in sight on every build.
  const sizes = await Promise.all(
    Object.values(names).map(async (name) => {
      const bytes = await readFile(path.join(out, name));
      return `${name} ${(bytes.length / 1024).toFixed(1)} KiB (${(gzipSync(bytes, { level: 9 }).length / 1024).toFixed(1)} KiB gzipped)`;
    }),
  );
  sizes.push(
    `api/openapi.json ${(description.length / 1024).toFixed(1)} KiB (${(gzipSync(description, { level: 9 }).length / 1024).toFixed(1)} KiB gzipped)`,
  );
  console.log(`web: ${sizes.join(', ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
