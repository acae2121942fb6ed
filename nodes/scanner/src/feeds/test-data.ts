/** Test helper: the shared real-data corpus (../shared/data/vuln relative to the repository root). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { VULN_DATA } from '../../../../test/support/vuln-data.js';

export { VULN_DATA };

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
