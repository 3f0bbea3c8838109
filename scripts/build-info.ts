// Writes dist/build-info.json: the version and the commit this build is
// made from, which every process reports in todo_stack_build_info, so a
// deploy shows on every graph. A build outside git says "unknown"; one with
// uncommitted changes adds "-dirty".
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

let commit = 'unknown';
try {
  commit = git('rev-parse', '--short=12', 'HEAD');
  if (git('status', '--porcelain', '--untracked-files=no') !== '') commit += '-dirty';
} catch {
  // Not a git checkout (a tarball): the version alone tells the build.
}
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
writeFileSync(path.join(root, 'dist', 'build-info.json'), `${JSON.stringify({ version, commit })}\n`);
