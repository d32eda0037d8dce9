/**
 * scripts/check-cycles.mjs (run by `npm run lint`): src/ has no import cycle, and the checker does
 * see one, type-only imports included.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = path.join(ROOT, 'scripts', 'check-cycles.mjs');

describe('import cycle check', () => {
  it('finds none in src/', async () => {
    const { stdout } = await run(process.execPath, [SCRIPT, path.join(ROOT, 'src')], { cwd: ROOT });
    assert.match(stdout, /no import cycle/);
  });

  it('fails on a cycle made of a type-only import', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-cycles-'));
    try {
      await writeFile(path.join(dir, 'a.ts'), "import { b } from './b.js';\nexport const a = b + 1;\n");
      await writeFile(path.join(dir, 'b.ts'), "import type { A } from './c.js';\nexport const b: A = 1;\n");
      await writeFile(path.join(dir, 'c.ts'), "import { a } from './a.js';\nexport type A = typeof a;\n");
      await assert.rejects(
        run(process.execPath, [SCRIPT, dir], { cwd: ROOT }),
        (err: { code?: number; stderr?: string }) => {
          assert.equal(err.code, 1);
          assert.match(err.stderr ?? '', /import cycle among 3 modules/);
          return true;
        },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
