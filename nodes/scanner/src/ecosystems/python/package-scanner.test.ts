import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { extractToTemp, readFileLayer, VULN_DATA } from '../../indexer/test-helpers.js';
import { normalisePyName, pythonScanner } from './package-scanner.js';

const LAYER = join(VULN_DATA, 'layers/debian-bookworm-python.meta.layer.tar.gz');
const SITES = ['usr/lib/python3/dist-packages', 'opt/venv/lib/python3.11/site-packages'];

/** importlib.metadata's view, per site dir: the set of (normalised name, version). */
function importlibMetadata(): string[] {
  const { dir, cleanup } = extractToTemp(LAYER);
  try {
    const code = `
import importlib.metadata as m, re, sys
root = sys.argv[1]
out = set()
for site in sys.argv[2:]:
    for d in m.distributions(path=[root + '/' + site]):
        out.add(site + ' ' + re.sub(r'[-_.]+', '-', d.metadata['Name']).lower() + ' ' + d.version)
print('\\n'.join(sorted(out)))`;
    return execFileSync('python3', ['-c', code, dir, ...SITES], { encoding: 'utf8' }).trim().split('\n').sort();
  } finally {
    cleanup();
  }
}

describe('python scanner', () => {
  it('finds what importlib.metadata finds in the Debian python layer, deduping egg-info beside dist-info', async () => {
    const want = importlibMetadata();
    const view = await readFileLayer(LAYER, pythonScanner.wants);
    const got = await pythonScanner.scan(view);
    const site = (loc: string) => SITES.find((s) => loc.startsWith(s + '/'))!;
    assert.deepEqual(got.map((p) => `${site(p.location)} ${p.name} ${p.version}`).sort(), want);
    const crypto = got.filter((p) => p.name === 'cryptography');
    assert.equal(crypto.length, 1);
    assert.equal(crypto[0]!.location, 'usr/lib/python3/dist-packages/cryptography-38.0.4.dist-info/METADATA');
    assert.ok(got.some((p) => p.name === 'jinja2' && p.location.endsWith('Jinja2-3.1.2.egg-info/PKG-INFO')));
    assert.ok(got.every((p) => p.format === 'pypi'));
  });

  it('normalises names per PEP 503', () => {
    assert.equal(normalisePyName('Friendly-Bard'), 'friendly-bard');
    assert.equal(normalisePyName('FRIENDLY._-bard'), 'friendly-bard');
    assert.equal(normalisePyName('charset_normalizer'), 'charset-normalizer');
  });
});
