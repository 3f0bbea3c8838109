// Builds the browser UI into dist/web: content-hashed assets under assets/
// (cached for a year by nginx) and index.html pointing at them.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'app', 'web');
const out = path.join(root, 'dist', 'web');

async function main(): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await mkdir(path.join(out, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: [path.join(src, 'main.ts'), path.join(src, 'style.css')],
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
  const html = (await readFile(path.join(src, 'index.html'), 'utf8')).replace(/\{\{([\w.]+)\}\}/g, (_, name: string) => {
    const hashed = names[name];
    if (!hashed) throw new Error(`index.html names ${name}, which the build did not produce`);
    return hashed;
  });
  await writeFile(path.join(out, 'index.html'), html);
  // The server-rendered public pages link this one by a stable name.
  await copyFile(path.join(src, 'public.css'), path.join(out, 'public.css'));
  // The size a browser downloads (nginx gzips), kept in sight on every build.
  const sizes = await Promise.all(
    Object.values(names).map(async (name) => {
      const bytes = await readFile(path.join(out, name));
      return `${name} ${(bytes.length / 1024).toFixed(1)} KiB (${(gzipSync(bytes, { level: 9 }).length / 1024).toFixed(1)} KiB gzipped)`;
    }),
  );
  console.log(`web: ${sizes.join(', ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
