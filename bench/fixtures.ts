/**
 * The data both servers serve: one data root with a big file of real (not sparse) bytes, many small
 * files, a wide directory and an upload directory. Built once in a cache directory under /tmp and
 * reused across runs; a marker file records each finished piece so an interrupted build is redone.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Sizes of the data set. */
export interface DataSizes {
  fileBytes: number;
  smallCount: number;
  smallBytes: number;
  listEntries: number;
}

/** Where the data lives, as real paths and as paths the FTP client asks for. */
export interface DataSet {
  root: string;
  /** Virtual paths (relative to the account's root). */
  bigFile: string;
  smallFiles: string[];
  listDir: string;
  uploadDir: string;
}

/** Default cache directory (TSFTPD_BENCH_CACHE overrides it). */
export const DEFAULT_CACHE = process.env['TSFTPD_BENCH_CACHE'] ?? '/tmp/tsftpd-bench-cache';

const BLOCK = 1 << 20;

async function done(markers: string, name: string): Promise<boolean> {
  try {
    return (await readFile(path.join(markers, name), 'utf8')) === 'ok';
  } catch {
    return false;
  }
}

/** Writes `bytes` of random-looking data: a random MiB repeated, each copy stamped with its index. */
async function writeBigFile(file: string, bytes: number): Promise<void> {
  const block = randomBytes(BLOCK);
  const fh = await open(file, 'w', 0o644);
  try {
    const blocks = Math.ceil(bytes / BLOCK);
    for (let i = 0; i < blocks; i++) {
      block.writeUInt32BE(i, 0);
      const len = Math.min(BLOCK, bytes - i * BLOCK);
      await fh.write(block, 0, len, i * BLOCK);
    }
  } finally {
    await fh.close();
  }
}

/** Creates `count` files of `size` bytes named with `prefix` + zero-padded index. */
async function writeMany(dir: string, prefix: string, count: number, size: number): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const names = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
  const body = randomBytes(size);
  for (let i = 0; i < names.length; i += 200) {
    await Promise.all(
      names.slice(i, i + 200).map((n) => writeFile(path.join(dir, n), body, { mode: 0o644 })),
    );
  }
  return names;
}

/**
 * Makes sure the data set exists under `cacheDir` (built if missing) and that the upload directory
 * belongs to the account uid/gid (Pure-FTPd drops to that uid before writing).
 */
export async function prepareData(
  cacheDir: string,
  sizes: DataSizes,
  owner: { uid: number; gid: number },
  log: (line: string) => void,
): Promise<DataSet> {
  const root = path.join(cacheDir, 'root');
  const markers = path.join(cacheDir, 'markers');
  await mkdir(root, { recursive: true, mode: 0o755 });
  await mkdir(markers, { recursive: true });
  await chmod(cacheDir, 0o755);
  await chmod(root, 0o755);

  const bigName = `big-${sizes.fileBytes}.bin`;
  const bigPath = path.join(root, bigName);
  const bigOk = await stat(bigPath).then(
    (s) => s.size === sizes.fileBytes,
    () => false,
  );
  if (!bigOk || !(await done(markers, bigName))) {
    log(`creating ${bigPath} (${(sizes.fileBytes / BLOCK).toFixed(0)} MiB of random-looking data, once)`);
    await writeBigFile(bigPath, sizes.fileBytes);
    await writeFile(path.join(markers, bigName), 'ok');
  }

  const smallName = `small-${sizes.smallCount}x${sizes.smallBytes}`;
  const smallDir = path.join(root, smallName);
  const smallFiles = Array.from({ length: sizes.smallCount }, (_, i) => `f${String(i).padStart(5, '0')}`);
  if (!(await done(markers, smallName))) {
    log(`creating ${sizes.smallCount} files of ${sizes.smallBytes} bytes in ${smallDir}`);
    await writeMany(smallDir, 'f', sizes.smallCount, sizes.smallBytes);
    await writeFile(path.join(markers, smallName), 'ok');
  }

  const listName = `dir-${sizes.listEntries}`;
  if (!(await done(markers, listName))) {
    log(`creating a directory of ${sizes.listEntries} entries`);
    await writeMany(path.join(root, listName), 'entry-', sizes.listEntries, 0);
    await writeFile(path.join(markers, listName), 'ok');
  }

  const upload = path.join(root, 'upload');
  await mkdir(upload, { recursive: true, mode: 0o755 });
  if (process.getuid?.() === 0) {
    await chown(root, owner.uid, owner.gid);
    await chown(upload, owner.uid, owner.gid);
  }
  return {
    root,
    bigFile: `/${bigName}`,
    smallFiles: smallFiles.map((f) => `/${smallName}/${f}`),
    listDir: `/${listName}`,
    uploadDir: '/upload',
  };
}
