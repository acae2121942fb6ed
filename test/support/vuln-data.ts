import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The vulnerability corpus (real layers, package databases, feeds, version vectors) given beside the checkout as
 * ../shared/data/vuln. A clone elsewhere (CI's clean clone) finds it through WHARF_VULN_DATA or the machine's
 * /work/shared; a missing corpus fails loudly, never skips.
 */
export const VULN_DATA: string = (() => {
  const candidates = [process.env.WHARF_VULN_DATA, resolve(repoRoot, '../shared/data/vuln'), '/work/shared/data/vuln'].filter((x): x is string => Boolean(x));
  const found = candidates.find((c) => existsSync(resolve(c, 'README.md')));
  if (!found) throw new Error(`the vulnerability corpus is not found (tried ${candidates.join(', ')}); set WHARF_VULN_DATA to its data/vuln directory`);
  return found;
})();
