import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { packTar } from '../../indexer/test-helpers.js';
import { readLayer } from '../../indexer/layer-reader.js';
import { SCANNERS } from '../index.js';
import { parseOsvDocument } from '../../feeds/osv.js';
import { matchReport } from '../../matcher/match.js';
import type { IndexReport } from '../../indexer/coalesce.js';
import type { Package, PackageFormat, Vulnerability } from '../../model.js';
import { parseGemFullName, parseGemspec, rubyScanner, wantsGemspec } from './package-scanner.js';

/** A gemspec as `gem install` writes it (abridged). */
const gemspec = (name: string, version: string, platform?: string) => `# -*- encoding: utf-8 -*-
# stub: ${name} ${version} ${platform ?? 'ruby'} lib

Gem::Specification.new do |s|
  s.name = "${name}".freeze
  s.version = "${version}".freeze
${platform ? `  s.platform = "${platform}".freeze\n` : ''}
  s.required_rubygems_version = Gem::Requirement.new(">= 0".freeze) if s.respond_to? :required_rubygems_version=
  s.require_paths = ["lib".freeze]
  s.rubygems_version = "3.4.19".freeze
  s.summary = "x".freeze
end
`;

async function scanTar(entries: { name: string; data: string }[]): Promise<Package[]> {
  const buf = await packTar(entries);
  const view = await readLayer(Readable.from([buf]), { digest: 'sha256:ruby', wants: rubyScanner.wants });
  return rubyScanner.scan(view);
}

describe('ruby scanner', () => {
  it('finds installed, platform and default gems in every GEM_HOME layout, not source gemspecs', async () => {
    const got = await scanTar([
      { name: 'usr/local/bundle/specifications/rack-3.0.8.gemspec', data: gemspec('rack', '3.0.8') },
      { name: 'usr/local/bundle/specifications/rack-test-2.1.0.gemspec', data: gemspec('rack-test', '2.1.0') },
      {
        name: 'usr/local/bundle/specifications/nokogiri-1.15.4-x86_64-linux.gemspec',
        data: gemspec('nokogiri', '1.15.4', 'x86_64-linux'),
      },
      { name: 'usr/local/lib/ruby/gems/3.2.0/specifications/default/json-2.6.3.gemspec', data: gemspec('json', '2.6.3') },
      { name: 'var/lib/gems/3.1.0/specifications/rails-7.1.0.rc1.gemspec', data: gemspec('rails', '7.1.0.rc1') },
      { name: 'usr/lib/ruby/gems/3.1.0/specifications/default/net-http-0.3.0.gemspec', data: gemspec('net-http', '0.3.0') },
      // Debian's gem2deb: no .freeze; the name part "x-2" starts with a digit after its dash.
      {
        name: 'usr/share/rubygems-integration/all/specifications/x-2-1.0.gemspec',
        data: 'Gem::Specification.new do |s|\n  s.name = "x-2"\n  s.version = "1.0"\nend\n',
      },
      // Ruby expressions we do not evaluate: the file name answers (and carries the platform).
      {
        name: 'usr/local/bundle/specifications/ffi-1.16.3-aarch64-linux-gnu.gemspec',
        data: 'Gem::Specification.new do |s|\n  s.name = NAME\nend\n',
      },
      // Not installed specs: a gem's own source gemspec, a cache entry.
      { name: 'usr/local/bundle/gems/rack-3.0.8/rack.gemspec', data: gemspec('rack', '3.0.8') },
      { name: 'usr/local/bundle/cache/rack-3.0.8.gem', data: 'x' },
    ]);
    assert.deepEqual(
      got.map((p) => `${p.location} ${p.name} ${p.version} ${p.arch ?? '-'}`),
      [
        'usr/lib/ruby/gems/3.1.0/specifications/default/net-http-0.3.0.gemspec net-http 0.3.0 -',
        'usr/local/bundle/specifications/ffi-1.16.3-aarch64-linux-gnu.gemspec ffi 1.16.3 aarch64-linux-gnu',
        'usr/local/bundle/specifications/nokogiri-1.15.4-x86_64-linux.gemspec nokogiri 1.15.4 x86_64-linux',
        'usr/local/bundle/specifications/rack-3.0.8.gemspec rack 3.0.8 -',
        'usr/local/bundle/specifications/rack-test-2.1.0.gemspec rack-test 2.1.0 -',
        'usr/local/lib/ruby/gems/3.2.0/specifications/default/json-2.6.3.gemspec json 2.6.3 -',
        'usr/share/rubygems-integration/all/specifications/x-2-1.0.gemspec x-2 1.0 -',
        'var/lib/gems/3.1.0/specifications/rails-7.1.0.rc1.gemspec rails 7.1.0.rc1 -',
      ],
    );
    assert.ok(got.every((p) => p.format === 'gem'));
    const noko = got.find((p) => p.name === 'nokogiri')!;
    assert.equal(noko.purl, 'pkg:gem/nokogiri@1.15.4?platform=x86_64-linux');
    assert.equal(got.find((p) => p.name === 'rack')!.purl, 'pkg:gem/rack@3.0.8');
  });

  it('the text wins over the file name when both are there and disagree (it is what Ruby loads)', async () => {
    const got = await scanTar([{ name: 'usr/local/bundle/specifications/rack-3.0.8.gemspec', data: gemspec('rack', '3.0.9') }]);
    assert.deepEqual(got.map((p) => `${p.name} ${p.version}`), ['rack 3.0.9']);
  });

  it('wants only specifications/*.gemspec and specifications/default/*.gemspec', () => {
    for (const p of ['usr/local/bundle/specifications/rack-3.0.8.gemspec', 'specifications/a-1.gemspec',
      'usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec',
      'usr/share/rubygems-integration/3.1.0/specifications/racc-1.6.0.gemspec',
      'vendor/bundle/ruby/3.2.0/specifications/puma-6.4.0.gemspec']) assert.equal(wantsGemspec(p), true, p);
    for (const p of ['usr/local/bundle/gems/rack-3.0.8/rack.gemspec', 'usr/local/bundle/specifications/rack-3.0.8.gem',
      'usr/local/bundle/specifications/sub/dir/rack-3.0.8.gemspec', 'app/Gemfile.lock',
      'usr/local/bundle/xspecifications/rack-3.0.8.gemspec']) assert.equal(wantsGemspec(p), false, p);
    assert.ok(SCANNERS.includes(rubyScanner));
  });

  it('splits full names at the version, stripping known platform suffixes only', () => {
    assert.deepEqual(parseGemFullName('nokogiri-1.15.4-x86_64-linux'), { name: 'nokogiri', version: '1.15.4', platform: 'x86_64-linux' });
    assert.deepEqual(parseGemFullName('nokogiri-1.15.4-java'), { name: 'nokogiri', version: '1.15.4', platform: 'java' });
    assert.deepEqual(parseGemFullName('sqlite3-1.6.9-x64-mingw-ucrt'), { name: 'sqlite3', version: '1.6.9', platform: 'x64-mingw-ucrt' });
    assert.deepEqual(parseGemFullName('grpc-1.59.0-arm64-darwin'), { name: 'grpc', version: '1.59.0', platform: 'arm64-darwin' });
    assert.deepEqual(parseGemFullName('libv8-node-18.16.0.0-x86_64-linux-musl'), {
      name: 'libv8-node', version: '18.16.0.0', platform: 'x86_64-linux-musl',
    });
    assert.deepEqual(parseGemFullName('rails-html-sanitizer-1.6.0'), { name: 'rails-html-sanitizer', version: '1.6.0' });
    // "2" is a version but "1.0" no platform, so the split moves on: the name is x-2.
    assert.deepEqual(parseGemFullName('x-2-1.0'), { name: 'x-2', version: '1.0' });
    assert.equal(parseGemFullName('rack-3.0.8-not-a-platform'), undefined);
    assert.equal(parseGemFullName('noversion'), undefined);
    assert.deepEqual(parseGemspec('  s.name = %q{rake}\n  s.version = "0.8.7"\n  s.platform = Gem::Platform.new("java")\n'), {
      name: 'rake', version: '0.8.7', platform: 'java',
    });
  });
});

describe('ruby: the matcher with the real nokogiri advisory', () => {
  it('GHSA-pxvg-2qj5-37jq (fixed 1.14.3) matches nokogiri 1.14.2 and not 1.14.3 (platform gem)', async () => {
    // nodes/scanner/src/feeds/testdata/GHSA-pxvg-2qj5-37jq.json: github/advisory-database
    // advisories/github-reviewed/2023/04/GHSA-pxvg-2qj5-37jq/GHSA-pxvg-2qj5-37jq.json, CC-BY-4.0 GitHub advisory data.
    const doc = JSON.parse(readFileSync(new URL('../../feeds/testdata/GHSA-pxvg-2qj5-37jq.json', import.meta.url), 'utf8')) as unknown;
    const records = [...parseOsvDocument(doc).values()].flat();
    assert.equal(records.length, 1);
    const pkgs = await scanTar([
      { name: 'usr/local/bundle/specifications/nokogiri-1.14.2.gemspec', data: gemspec('nokogiri', '1.14.2') },
      {
        name: 'usr/local/bundle/specifications/nokogiri-1.14.3-x86_64-linux.gemspec',
        data: gemspec('nokogiri', '1.14.3', 'x86_64-linux'),
      },
      { name: 'usr/local/bundle/specifications/rack-3.0.8.gemspec', data: gemspec('rack', '3.0.8') },
    ]);
    assert.equal(pkgs.length, 3);
    const report: IndexReport = { manifest: 'sha256:m', packages: pkgs, layers: ['sha256:ruby'] };
    const asked: [PackageFormat, string[]][] = [];
    const lookup = async (format: PackageFormat, names: string[]): Promise<Vulnerability[]> => {
      asked.push([format, [...names].sort()]);
      return records.filter((v) => v.format === format && names.includes(v.package.name));
    };
    const matches = await matchReport(report, lookup);
    assert.deepEqual(asked, [['gem', ['nokogiri', 'rack']]]);
    assert.deepEqual(
      matches.map((m) => `${m.package.name} ${m.package.version} ${m.vulnerability.id} ${m.fixedBy}`),
      ['nokogiri 1.14.2 GHSA-pxvg-2qj5-37jq 1.14.3'],
    );
  });
});
