/**
 * The tsftpd build under test: the src/ compiled with the bench (.build/src, `npm run bench` compiles
 * both with tsconfig.test.json). It is copied once per run into .bench-tmp/ (gitignored) and
 * started from there, so a rebuild by someone else during a long run cannot swap the server between
 * rounds; the copy still finds node_modules and build/Release by walking up to the package root.
 */
import { cp, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tryRun } from './exec.js';

/** Which build was measured. */
export interface BuildInfo {
  /** `git rev-parse --short HEAD`, when in a git checkout. */
  commit: string | undefined;
  /** Files under src/ that differ from that commit (uncommitted work measured too). */
  uncommittedSrcFiles: number | undefined;
  /** When the server's main.js was compiled. */
  builtAt: string;
}

/** A private copy of the server build. */
export interface ServerSnapshot {
  main: string;
  build: BuildInfo;
  dispose(): Promise<void>;
}

/** The compiled src/ next to this compiled bench (…/.build/bench → …/.build/src). */
export const COMPILED_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Copies the compiled src/ (COMPILED_SRC) of the package at `root`; `copy` false uses it in place (smoke runs). */
export async function snapshotServer(root: string, copy: boolean): Promise<ServerSnapshot> {
  const distSrc = COMPILED_SRC;
  const built = await stat(path.join(distSrc, 'main.js')).catch(() => undefined);
  if (!built) throw new Error(`${distSrc}/main.js is missing: run npm run build first`);
  const head = await tryRun('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  const dirty = await tryRun('git', ['-C', root, 'status', '--porcelain', '--', 'src']);
  const build: BuildInfo = {
    commit: head?.stdout.trim() || undefined,
    uncommittedSrcFiles: dirty ? dirty.stdout.split('\n').filter(Boolean).length : undefined,
    builtAt: built.mtime.toISOString(),
  };
  if (!copy) return { main: path.join(distSrc, 'main.js'), build, dispose: async () => undefined };
  const dir = path.join(root, '.bench-tmp', `snapshot-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  await cp(distSrc, path.join(dir, '.build', 'src'), { recursive: true });
  return {
    main: path.join(dir, '.build', 'src', 'main.js'),
    build,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
