/** Test helper: the shared real-data corpus (../shared/data/vuln relative to the repository root). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const VULN_DATA = join(repoRoot, '../shared/data/vuln');

export function dataPath(rel: string): string {
  return join(VULN_DATA, rel);
}

export function readData(rel: string): Buffer {
  const b = readFileSync(dataPath(rel));
  return rel.endsWith('.gz') ? gunzipSync(b) : b;
}

export function readJson(rel: string): unknown {
  return JSON.parse(readData(rel).toString('utf8'));
}
