/** Test helpers for the indexer and ecosystem tests: build tars in memory, read real layers, extract for expectations. */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { readLayer } from './layer-reader.js';
import type { LayerSnapshot } from './layer-view.js';
import type { LayerLimits } from './limits.js';
import { FileNotFoundError, FileTooLargeError, type LayerView } from './types.js';

export { VULN_DATA } from '../../../../test/support/vuln-data.js';

export interface TarEntrySpec {
  name: string;
  type?: 'file' | 'symlink' | 'link' | 'directory';
  linkname?: string;
  data?: string | Buffer;
}

export async function packTar(entries: TarEntrySpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((res, rej) => {
    pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
    pack.on('end', res);
    pack.on('error', rej);
  });
  for (const e of entries) {
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    await new Promise<void>((res, rej) =>
      pack.entry(
        { name: e.name, type: e.type ?? 'file', linkname: e.linkname, size: data?.length ?? 0, mode: 0o644 },
        data ?? Buffer.alloc(0),
        (err) => (err ? rej(err) : res()),
      ),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function readFileLayer(path: string, wants: (p: string) => boolean, limits?: Partial<LayerLimits>): Promise<LayerSnapshot> {
  return readLayer(createReadStream(path), { digest: `file:${path}`, wants, limits });
}

/** Extracts a tar (any compression tar understands) into a fresh temp dir; returns the dir and a cleanup. */
export function extractToTemp(archive: string | Buffer): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-layer-'));
  if (typeof archive === 'string') execFileSync('tar', ['-xf', archive, '-C', dir]);
  else execFileSync('tar', ['-xf', '-', '-C', dir], { input: archive });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The `layer.tar` of a single-layer `docker save` archive. */
export function dockerSaveLayer(archive: string): Buffer {
  const { dir, cleanup } = extractToTemp(archive);
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    return readFileSync(join(dir, manifest[0]!.Layers[0]!));
  } finally {
    cleanup();
  }
}

/** A LayerView over in-memory files, for scanner unit tests; `truncated` paths read as over the bound. */
export function memoryView(files: Record<string, Buffer>, truncated: string[] = []): LayerView {
  return {
    digest: 'sha256:test',
    has: (p) => p in files,
    async readFile(p, max) {
      const f = files[p];
      if (!f) throw new FileNotFoundError(p);
      if (f.length > max || truncated.includes(p)) throw new FileTooLargeError(p, f.length, max);
      return f;
    },
    list: (prefix = '') => Object.keys(files).filter((p) => p.startsWith(prefix)).sort(),
    size: (p) => files[p]?.length,
    truncated: (p) => truncated.includes(p),
  };
}
