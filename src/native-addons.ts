/**
 * Loader for the project's native addons (binding.gyp: tsftpd_crypt, tsftpd_pam, tsftpd_fs), built
 * from source by `npm install`. The package root is found by walking up from this file, so the same
 * code works from src/ and from dist/src/. Each addon is loaded once.
 */
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cache = new Map<string, Promise<unknown>>();

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function find(file: string): Promise<string | undefined> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (await exists(join(dir, file))) return join(dir, file);
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Loads build/Release/<name>.node; rejects with `hint` in the message when it was not built.
 * The type parameter describes the addon's exports (the addon itself is untyped C).
 */
export function loadAddon<T>(name: string, hint: string): Promise<T> {
  let loading = cache.get(name) as Promise<T> | undefined;
  if (loading === undefined) {
    const file = join('build', 'Release', `${name}.node`);
    loading = find(file).then((path) => {
      if (path === undefined) {
        cache.delete(name);
        throw new Error(`${file} not found: ${hint}`);
      }
      return createRequire(import.meta.url)(path) as T;
    });
    cache.set(name, loading);
  }
  return loading;
}
