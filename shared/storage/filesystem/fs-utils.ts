import { mkdir, open, rename, rmdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** Errors meaning "there is no object here": missing, a path through a file, or a directory. */
export function isMissing(err: unknown): boolean {
  const code = errCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/**
 * rename() into a possibly missing directory. Retried because a concurrent delete may prune the freshly made
 * (still empty) parent between our mkdir and rename; returns false when `src` itself is gone.
 */
export async function renameInto(src: string, dst: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    await mkdir(dirname(dst), { recursive: true });
    try {
      await rename(src, dst);
      return true;
    } catch (err) {
      if (errCode(err) !== 'ENOENT' || attempt >= 5) throw err;
      if (!(await exists(src))) return false;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** Makes a rename or unlink in `dir` durable: the directory entry itself must reach the disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Removes now-empty parent directories up to (not including) `stopAt`, so deleted trees do not slow list(). */
export async function pruneEmptyDirs(from: string, stopAt: string): Promise<void> {
  for (let dir = from; dir.length > stopAt.length && dir.startsWith(stopAt); dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      // ENOTEMPTY (someone else's object lives here) or already gone: either way, stop climbing.
      return;
    }
  }
}
