import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { pushImage } from '../support/oci-client.js';
import { startScannerNode, type RunningScanner } from '../../nodes/scanner/src/node.js';
import { manifestVulnerabilities } from '../../nodes/scanner/src/reports.js';
import type { Match } from '../../nodes/scanner/src/matcher/match.js';
import { VULN_DATA } from '../support/vuln-data.js';

/**
 * The scanner's matches on the real corpus (../shared/data/vuln), per ecosystem, against expectations derived in this
 * file from the feed files themselves and the package managers' own tools (dpkg-query, dpkg --compare-versions, pip,
 * the lockfile npm wrote, npm's semver), never from the scanner's code.
 */
// npm's own semver (no type declarations installed).
const semver = createRequire(import.meta.url)('semver') as { satisfies(v: string, r: string): boolean; coerce(v: string): { version: string } | null };
const VULN = VULN_DATA;
let db: TestDatabase;
let reg: TestRegistry;
let scanner: RunningScanner;
let work: string;
const images: Record<'debian' | 'alpine' | 'npm' | 'rhel', string> = { debian: '', alpine: '', npm: '', rhel: '' };
const summary: Record<string, { packages: number; matches: number; note?: string }> = {};

async function importFile(path: string, name = path): Promise<{ feed: string; status: string; vulnerabilities: number }[]> {
  const r = await fetch(`${reg.url}/api/v1/vulndb/import?name=${encodeURIComponent(name)}`, { method: 'POST', body: await readFile(path) });
  assert.equal(r.status, 200, await r.clone().text());
  return ((await r.json()) as { imported: { feed: string; status: string; vulnerabilities: number }[] }).imported;
}

async function waitIndexed(digest: string): Promise<void> {
  const deadline = Date.now() + 180_000; // a wait for an event, not a timing claim
  for (;;) {
    const r = await fetch(`${scanner.url}/indexer/api/v1/index_report/${digest}`);
    if (r.status === 200) {
      const body = (await r.json()) as { state: string; err: string };
      if (body.state === 'IndexFinished') return;
      if (body.state === 'IndexError' && body.err.includes('gave up')) assert.fail(`indexing failed: ${body.err}`);
    }
    if (Date.now() > deadline) assert.fail(`manifest ${digest} was not indexed in time`);
    await new Promise((r2) => setTimeout(r2, 250));
  }
}

async function matchesOf(digest: string, format: string): Promise<Match[]> {
  const v = await manifestVulnerabilities(scanner.indexer.db, digest);
  assert.equal(v.state, 'indexed');
  return v.matches.filter((m) => m.package.format === format);
}
async function packagesOf(digest: string, format: string) {
  const v = await manifestVulnerabilities(scanner.indexer.db, digest);
  return (v.report?.packages ?? []).filter((p) => p.format === format);
}
const keyOf = (m: Match) => `${m.vulnerability.id} ${m.package.name}@${m.package.version}`;

/** dpkg's own ordering. */
const dpkgLt = (a: string, b: string) => spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'wharf-corpus-'));
  db = await createTestDatabase();
  const storage = join(work, 'storage');
  const env = { WHARF_DATABASE_URL: db.url, WHARF_STORAGE_FILESYSTEM_ROOT: storage, WHARF_DATA_DIR: work };
  const config = loadConfig({ ...env, WHARF_SCANNER_PORT: '0', WHARF_SERVER_HOST: '127.0.0.1', WHARF_SCANNER_POLL_SECONDS: '1', WHARF_LOG_LEVEL: 'silent' });
  scanner = await startScannerNode(config, { log: createLogger({ level: process.env.WHARF_TEST_LOG_LEVEL ?? 'silent', bindings: { node: 'scanner-test' } }) });
  reg = await startTestRegistry({ ...env, WHARF_AUTH_MODE: 'open', WHARF_SCANNER_URL: scanner.url }, { db });

  const layer = (p: string) => readFile(join(VULN, 'layers', p));
  const ex = join(work, 'x');
  await mkdir(ex);
  execFileSync('tar', ['-xzf', join(VULN, 'layers/alpine-3.10.4.docker-save.tar.gz'), '-C', ex]);
  const alpineDir = (await readdir(ex, { withFileTypes: true })).find((d) => d.isDirectory() && /^[0-9a-f]{64}$/.test(d.name))!;
  const minbase = await layer('debian-bookworm-minbase.dpkgdb.layer.tar');
  images.debian = (await pushImage(reg.url, 'corpus/debian-python', 'v1', { layers: [minbase, await layer('debian-bookworm-python.meta.layer.tar.gz')] })).digest;
  images.alpine = (await pushImage(reg.url, 'corpus/alpine', '3.10.4', { layers: [await readFile(join(ex, alpineDir.name, 'layer.tar'))] })).digest;
  images.npm = (await pushImage(reg.url, 'corpus/npm-app', 'v1', { layers: [minbase, await layer('npm-app.meta.layer.tar.gz')] })).digest;

  // A tiny RHEL 8 layer: the real Berkeley DB Packages with one header (libuuid) and UBI 8's os-release.
  const rootfs = join(work, 'rhel-rootfs');
  await mkdir(join(rootfs, 'var/lib/rpm'), { recursive: true });
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await copyFile(join(VULN, 'pkgdb/rpm/rhel8-libuuid.Packages'), join(rootfs, 'var/lib/rpm/Packages'));
  await copyFile(join(VULN, 'rhel/ubi8.os-release'), join(rootfs, 'etc/os-release'));
  execFileSync('tar', ['-cf', join(work, 'rhel.tar'), '-C', rootfs, 'etc', 'var']);
  images.rhel = (await pushImage(reg.url, 'corpus/ubi8', 'v1', { layers: [await readFile(join(work, 'rhel.tar'))] })).digest;
  for (const d of Object.values(images)) await waitIndexed(d);
});

after(async () => {
  await reg?.stop();
  await scanner?.close();
  await db?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

// ---- Debian ------------------------------------------------------------------------------------------------

/** The image's dpkg packages as dpkg-query reads them (the python layer's status replaces the base layer's). */
async function debianPackages(): Promise<{ name: string; version: string; source: string; sourceVersion: string }[]> {
  const dir = join(work, 'deb');
  await mkdir(dir, { recursive: true });
  execFileSync('tar', ['-xzf', join(VULN, 'layers/debian-bookworm-python.meta.layer.tar.gz'), '-C', dir, './var/lib/dpkg/status']);
  await mkdir(join(dir, 'var/lib/dpkg/info'), { recursive: true });
  await mkdir(join(dir, 'var/lib/dpkg/updates'), { recursive: true });
  const out = execFileSync('dpkg-query', [`--admindir=${join(dir, 'var/lib/dpkg')}`, '-W', '-f', '${Package}\t${Version}\t${source:Package}\t${source:Version}\n'], { encoding: 'utf8' });
  return out.trim().split('\n').map((l) => {
    const [name, version, source, sourceVersion] = l.split('\t') as [string, string, string, string];
    return { name, version, source, sourceVersion };
  });
}

test('Debian bookworm: packages as dpkg-query lists them; tracker and DSA bookworm records matched through Source, other releases never', async () => {
  const want = await debianPackages();
  const got = await packagesOf(images.debian, 'dpkg');
  assert.deepEqual(got.map((p) => `${p.name} ${p.version} ${p.source?.name ?? p.name}`).sort(), want.map((p) => `${p.name} ${p.version} ${p.source}`).sort());

  // Expected from the tracker JSON: every bookworm entry of a source package some binary in the image was built from,
  // open (no fix: every version) or resolved with the image's binary version < fixed_version (dpkg decides).
  const tracker = JSON.parse(await readFile(join(VULN, 'debian/tracker-json/subset.vunnel-fixture.json'), 'utf8')) as Record<string, Record<string, { releases: Record<string, { status: string; fixed_version?: string }> }>>;
  const expected = new Set<string>();
  let bookwormEntries = 0;
  for (const [src, cves] of Object.entries(tracker)) {
    for (const [cve, e] of Object.entries(cves)) {
      const r = e.releases?.bookworm;
      if (!r) continue;
      bookwormEntries++;
      for (const p of want.filter((x) => x.source === src)) {
        if (r.status === 'open' || (r.status === 'resolved' && r.fixed_version && r.fixed_version !== '0' && dpkgLt(p.version, r.fixed_version))) expected.add(`${cve} ${p.name}@${p.version}`);
      }
    }
  }
  assert.ok(bookwormEntries > 0, 'the subset holds bookworm entries');
  await importFile(join(VULN, 'debian/tracker-json/subset.vunnel-fixture.json'));
  // DSA sample: [bookworm] lines, same rule (a DSA's fix is for the source package named on the line).
  const dsa = await readFile(join(VULN, 'debian/security-tracker-data/DSA-list.vunnel-sample'), 'utf8');
  let current = '';
  for (const line of dsa.split('\n')) {
    const head = /^\[[^\]]+\]\s+(DSA-\S+)/.exec(line);
    if (head) current = head[1]!;
    const fix = /^\s+\[bookworm\]\s+-\s+(\S+)\s+(\S+)/.exec(line);
    if (!fix) continue;
    for (const p of want.filter((x) => x.source === fix[1])) if (dpkgLt(p.version, fix[2]!)) expected.add(`${current} ${p.name}@${p.version}`);
  }
  await importFile(join(VULN, 'debian/security-tracker-data/DSA-list.vunnel-sample'), 'DSA-list.vunnel-sample');
  const matched = (await matchesOf(images.debian, 'dpkg')).map(keyOf).sort();
  assert.deepEqual(matched, [...expected].sort());

  // The full DSA list predates bookworm: its fixes are for older releases (and older than bookworm's versions, so
  // they cannot show a false match by version); they are looked up for the image's source packages and must all be
  // set aside by release. The would-be false matches by version are exercised with Alpine v3.11 below.
  const full = await readFile(join(VULN, 'debian/security-tracker-data/DSA-list'), 'utf8');
  const sources = new Set(want.map((p) => p.source));
  let otherRelease = 0;
  for (const line of full.split('\n')) {
    const fix = /^\s+\[(\w+)\]\s+-\s+(\S+)\s+(\S+)/.exec(line);
    if (fix && fix[1] !== 'bookworm' && sources.has(fix[2]!)) otherRelease++;
  }
  assert.ok(otherRelease > 0, 'the full DSA list has fixes for the image\'s source packages in other releases');
  await importFile(join(VULN, 'debian/security-tracker-data/DSA-list'), 'DSA-list');
  const after = await matchesOf(images.debian, 'dpkg');
  assert.deepEqual(after.filter((m) => m.vulnerability.distribution?.release !== 'bookworm' && m.vulnerability.distribution?.release !== '12').map(keyOf), []);
  assert.deepEqual(after.map(keyOf).sort(), [...expected].sort());
  summary.dpkg = { packages: got.length, matches: after.length, note: `${bookwormEntries} bookworm tracker entries, ${otherRelease} other-release DSA fix lines for its sources ignored` };
});

// ---- Alpine ------------------------------------------------------------------------------------------------

/** Versions of the shape 1.2.3a-r4: for these dpkg's ordering (numeric runs, letters, then -rN numerically) is apk's. */
const APK_SIMPLE = /^\d+(\.\d+)*[a-z]?-r\d+$/;
const apkLt = (a: string, b: string) => {
  assert.ok(APK_SIMPLE.test(a) && APK_SIMPLE.test(b), `${a} / ${b}: not a simple apk version`);
  return dpkgLt(a, b);
};

async function alpineInstalled(): Promise<{ name: string; version: string; origin: string }[]> {
  const ex = join(work, 'x');
  const dir = (await readdir(ex, { withFileTypes: true })).find((d) => d.isDirectory() && /^[0-9a-f]{64}$/.test(d.name))!;
  const text = execFileSync('tar', ['-xOf', join(ex, dir.name, 'layer.tar'), 'lib/apk/db/installed'], { encoding: 'utf8' });
  return text.split('\n\n').filter((b) => b.trim()).map((b) => {
    const f = (k: string) => b.split('\n').find((l) => l.startsWith(`${k}:`))?.slice(2) ?? '';
    return { name: f('P'), version: f('V'), origin: f('o') || f('P') };
  });
}

function expectedAlpine(installed: { name: string; version: string; origin: string }[], pkgs: { name: string; secfixes?: Record<string, string[] | null> }[]): Set<string> {
  const out = new Set<string>();
  for (const pkg of pkgs) {
    for (const [fixed, ids] of Object.entries(pkg.secfixes ?? {})) {
      if (fixed === '0') continue; // "never affected" in secdb
      for (const p of installed.filter((x) => x.origin === pkg.name)) {
        if (!apkLt(p.version, fixed)) continue;
        for (const id of ids ?? []) out.add(`${id.split(/\s+/)[0]} ${p.name}@${p.version}`);
      }
    }
  }
  return out;
}

test('Alpine 3.10.4: secdb v3.10 main matched by origin; a later import changes the report without re-indexing', async () => {
  const installed = await alpineInstalled();
  const got = await packagesOf(images.alpine, 'apk');
  assert.deepEqual(got.map((p) => `${p.name} ${p.version} ${p.source?.name ?? p.name}`).sort(), installed.map((p) => `${p.name} ${p.version} ${p.origin}`).sort());
  const main = parseYaml(await readFile(join(VULN, 'secdb/alpine/v3.10/main.yaml'), 'utf8')) as { packages: { pkg: { name: string; secfixes?: Record<string, string[]> } }[] };
  const expected = expectedAlpine(installed, main.packages.map((p) => p.pkg));
  await importFile(join(VULN, 'secdb/alpine/v3.10/main.yaml'));
  const indexedAt = async () => (await scanner.indexer.db.query<{ t: Date }>('SELECT indexed_at AS t FROM index_reports WHERE manifest_digest = $1', [images.alpine])).rows[0]!.t.toISOString();
  const before = await indexedAt();
  assert.deepEqual((await matchesOf(images.alpine, 'apk')).map(keyOf).sort(), [...expected].sort());

  // The v3.10 secdb of June 2020 already had musl 1.1.22-r3 etc.; the final (EOL) openssl entries add fixes newer than
  // the image's 1.1.1d-r2 for both binaries built from openssl (libssl1.1, libcrypto1.1).
  const finalOpenssl = JSON.parse(await readFile(join(VULN, 'secdb/alpine/v3.10-final.vuln-list/main/openssl.json'), 'utf8')) as { name: string; secfixes: Record<string, string[]> };
  const fromFinal = expectedAlpine(installed, [finalOpenssl]);
  assert.ok(fromFinal.size > 0);
  await importFile(join(VULN, 'secdb/alpine/v3.10-final.vuln-list/main/openssl.json'));
  const now = (await matchesOf(images.alpine, 'apk')).map(keyOf).sort();
  // Each import replaces the feed it names (alpine-secdb:v3.10/main for both files): what matches is what the
  // current data says, nothing left over, nothing lost.
  assert.deepEqual(now, [...fromFinal].sort());
  assert.ok(now.some((k) => k.includes('libssl1.1@')) && now.some((k) => k.includes('libcrypto1.1@')), 'matched through the origin');
  assert.equal(await indexedAt(), before, 'the report changed without re-indexing');

  // Another release: v3.11's secdb has openssl fixes newer than 1.1.1d-r2 too; they must not touch a 3.10 image.
  const v311 = parseYaml(await readFile(join(VULN, 'secdb/alpine/v3.11/main.yaml'), 'utf8')) as typeof main;
  const wouldMatch = expectedAlpine(installed, v311.packages.map((p) => p.pkg));
  assert.ok(wouldMatch.size > 0, 'v3.11 records would match by version alone');
  await importFile(join(VULN, 'secdb/alpine/v3.11/main.yaml'));
  assert.deepEqual((await matchesOf(images.alpine, 'apk')).map(keyOf).sort(), now);
  summary.apk = { packages: got.length, matches: now.length, note: `v3.10/main.yaml alone: ${expected.size}; ${wouldMatch.size} v3.11 would-be matches ignored` };
});

// ---- PyPI --------------------------------------------------------------------------------------------------

test('Python packages of the python layer: as pip lists them; PyPA advisories matched under PEP 503 names', async () => {
  const dir = join(work, 'py');
  await mkdir(dir, { recursive: true });
  execFileSync('tar', ['-xzf', join(VULN, 'layers/debian-bookworm-python.meta.layer.tar.gz'), '-C', dir]);
  const sitePaths = ['usr/lib/python3/dist-packages', 'opt/venv/lib/python3.11/site-packages'].map((p) => join(dir, p));
  const pipList = JSON.parse(execFileSync('pip', ['list', '--format', 'json', ...sitePaths.flatMap((p) => ['--path', p])], { encoding: 'utf8' })) as { name: string; version: string }[];
  const norm = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');
  const got = await packagesOf(images.debian, 'pypi');
  assert.deepEqual([...new Set(got.map((p) => `${norm(p.name)} ${p.version}`))].sort(), pipList.map((p) => `${norm(p.name)} ${p.version}`).sort());

  // Expected: the OSV ECOSYSTEM ranges of every advisory under osv/pypi/selected, evaluated by PyPA's own
  // `packaging` (events sorted by version, "0" first; affected when the last event at or below the version is an
  // introduced one, or it equals a last_affected).
  const py = String.raw`
import json, sys, glob, os, re, yaml
from packaging.version import Version
inst = {re.sub(r'[-_.]+', '-', p['name'].lower()): p['version'] for p in json.loads(sys.argv[2])}
out = []
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*', '*.yaml'))):
    d = yaml.safe_load(open(f))
    for a in d.get('affected', []):
        n = re.sub(r'[-_.]+', '-', a['package']['name'].lower())
        if a['package']['ecosystem'] != 'PyPI' or n not in inst: continue
        v = Version(inst[n]); hit = False
        for r in a.get('ranges', []):
            if r['type'] != 'ECOSYSTEM': continue
            evs = sorted(r['events'], key=lambda e: Version('0') if list(e.values())[0] == '0' else Version(list(e.values())[0]))
            state = False
            for e in evs:
                k, x = list(e.items())[0]
                x = Version('0') if x == '0' else Version(x)
                if x > v: break
                if k == 'introduced': state = True
                elif k == 'fixed': state = False
                elif k == 'last_affected': state = (x == v) or False
            hit = hit or state
        if hit: out.append(d['id'] + ' ' + n + '@' + inst[n])
print(json.dumps(sorted(set(out))))
`;
  const expected = JSON.parse(execFileSync('python3', ['-c', py, join(VULN, 'osv/pypi/selected'), JSON.stringify(pipList)], { encoding: 'utf8' })) as string[];
  // One upload of the whole folder (a tarball): each upload replaces its feed (osv:PyPI), so file-by-file would keep
  // only the last advisory.
  execFileSync('tar', ['-czf', join(work, 'pypi-selected.tar.gz'), '-C', join(VULN, 'osv/pypi'), 'selected']);
  const imported = await importFile(join(work, 'pypi-selected.tar.gz'));
  assert.deepEqual(imported.map((i) => i.feed), ['osv:PyPI']);
  const matched = [...new Set((await matchesOf(images.debian, 'pypi')).map((m) => `${m.vulnerability.id} ${norm(m.package.name)}@${m.package.version}`))].sort();
  assert.deepEqual(matched, expected);
  assert.ok(expected.some((k) => k.startsWith('PYSEC-2023-192 urllib3@')), 'urllib3 1.26.12 is in the second of two introduced/fixed pairs of one range');
  summary.pypi = { packages: new Set(got.map((p) => `${norm(p.name)} ${p.version}`)).size, matches: matched.length, note: `${got.length} dist-info/egg-info records` };
});

// ---- npm ---------------------------------------------------------------------------------------------------

test('npm-app: packages as npm\'s lockfile lists them; the six GHSA advisories evaluated with npm\'s semver', async () => {
  const dir = join(work, 'npm');
  await mkdir(dir, { recursive: true });
  execFileSync('tar', ['-xzf', join(VULN, 'layers/npm-app.meta.layer.tar.gz'), '-C', dir, './app/package-lock.json']);
  const lock = JSON.parse(await readFile(join(dir, 'app/package-lock.json'), 'utf8')) as { packages: Record<string, { version: string; name?: string }> };
  const installed = Object.entries(lock.packages).filter(([k]) => k !== '').map(([k, v]) => ({ name: v.name ?? k.slice(k.lastIndexOf('node_modules/') + 'node_modules/'.length), version: v.version, path: k }));
  const got = await packagesOf(images.npm, 'npm');
  assert.deepEqual(got.map((p) => `${p.name}@${p.version}`).sort(), installed.map((p) => `${p.name}@${p.version}`).sort());
  assert.equal(installed.filter((p) => p.name === 'qs' && p.version === '6.7.0').length, 2, 'nested qs@6.7.0 twice');

  const expected: string[] = [];
  const files = (await readdir(join(VULN, 'osv/npm'))).filter((f) => f.endsWith('.json')).sort();
  assert.equal(files.length, 6);
  for (const f of files) {
    const d = JSON.parse(await readFile(join(VULN, 'osv/npm', f), 'utf8')) as { id: string; affected: { package: { ecosystem: string; name: string }; ranges?: { type: string; events: Record<string, string>[] }[] }[] };
    for (const p of installed) {
      const hit = d.affected.some((a) => a.package.ecosystem === 'npm' && a.package.name === p.name && (a.ranges ?? []).some((r) => {
        // GHSA ranges are one introduced/fixed pair each; "1.0" is not semver: coerce (1.0.0), as the advisory means.
        const intro = r.events.find((e) => e.introduced !== undefined)?.introduced ?? '0';
        const fixed = r.events.find((e) => e.fixed !== undefined)?.fixed;
        const lo = intro === '0' ? '>=0.0.0' : `>=${semver.coerce(intro)!.version}`;
        return semver.satisfies(p.version, fixed ? `${lo} <${fixed}` : lo);
      }));
      if (hit) expected.push(`${d.id} ${p.name}@${p.version}`);
    }
  }
  execFileSync('tar', ['-czf', join(work, 'npm-ghsa.tar.gz'), '-C', join(VULN, 'osv'), 'npm']);
  const imported = await importFile(join(work, 'npm-ghsa.tar.gz'));
  assert.ok(imported.some((i) => i.feed === 'osv:npm'));
  const matched = (await matchesOf(images.npm, 'npm')).map(keyOf).sort();
  assert.deepEqual(matched, expected.sort());
  assert.equal(expected.filter((k) => k.startsWith('GHSA-hrpp-h998-j3pp qs@6.7.0')).length, 2, 'both nested qs@6.7.0 copies (range 6.7.0..6.7.3 of a multi-range advisory)');
  assert.ok(expected.some((k) => k.startsWith('GHSA-r683-j2x4-v87g node-fetch@2.6.0')));
  summary.npm = { packages: got.length, matches: matched.length };
});

// ---- RHEL --------------------------------------------------------------------------------------------------

test('RHEL 8 (UBI): libuuid from the Berkeley DB; the RHEL 8 OVAL says nothing about it, Mariner\'s util-linux records are ignored', async () => {
  const got = await packagesOf(images.rhel, 'rpm');
  assert.deepEqual(got.map((p) => `${p.name} ${p.version} ${p.source?.name ?? ''}`), ['libuuid 2.32.1-42.el8_8 util-linux']);
  const v = await manifestVulnerabilities(scanner.indexer.db, images.rhel);
  assert.equal(v.report?.distribution?.id, 'rhel');

  const oval = gunzipSync(await readFile(join(VULN, 'rhel/oval/rhel-8.oval.subset-2020-03-19.xml.gz'))).toString('utf8');
  // Expected from the OVAL text itself: no definition, test or object names libuuid or util-linux.
  assert.equal(/libuuid|util-linux/.test(oval), false);
  const rhel = await importFile(join(VULN, 'rhel/oval/rhel-8.oval.subset-2020-03-19.xml.gz'));
  assert.ok(rhel.every((i) => i.vulnerabilities > 0));
  // Mariner 2.0 does say util-linux < 2.37.4-1: older than that by version, but another distribution.
  const mariner = gunzipSync(await readFile(join(VULN, 'mariner/cbl-mariner-2.0-oval.2023-12-31.xml.gz'))).toString('utf8');
  assert.ok(/Package util-linux is earlier than/.test(mariner));
  await importFile(join(VULN, 'mariner/cbl-mariner-2.0-oval.2023-12-31.xml.gz'));
  const stored = await scanner.indexer.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM vulnerabilities v JOIN vuln_feeds f ON f.current_update = v.update_id WHERE v.format = 'rpm' AND v.package_name IN ('util-linux', 'libuuid') AND v.dist_id = 'mariner'`);
  assert.ok(stored.rows[0]!.n > 0, 'the Mariner records are there to be looked up');
  assert.deepEqual((await matchesOf(images.rhel, 'rpm')).map(keyOf), []);
  summary.rpm = { packages: got.length, matches: 0, note: `${rhel.reduce((n, i) => n + i.vulnerabilities, 0)} RHEL 8 OVAL records, ${stored.rows[0]!.n} Mariner util-linux records ignored` };
});

test('per-ecosystem figures', () => {
  for (const [eco, s] of Object.entries(summary)) console.log(`corpus ${eco}: ${s.packages} packages found, ${s.matches} matches${s.note ? ` (${s.note})` : ''}`);
  assert.deepEqual(Object.keys(summary).sort(), ['apk', 'dpkg', 'npm', 'pypi', 'rpm']);
});
