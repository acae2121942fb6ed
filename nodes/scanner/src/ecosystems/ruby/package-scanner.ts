/**
 * Ruby scanner: installed gems, from the specifications RubyGems (and Bundler, and Debian's rubygems-integration)
 * write for each one: `<GEM_HOME>/specifications/<full_name>.gemspec`, and `specifications/default/` for the default
 * gems shipped with Ruby. GEM_HOMEs seen in images: usr/local/bundle, var/lib/gems/3.1.0, usr/lib/ruby/gems/3.2.0,
 * usr/share/rubygems-integration/all, vendor/bundle/ruby/3.2.0, ...
 *
 * A spec's full_name is `<name>-<version>` plus `-<platform>` for a platform gem (nokogiri-1.15.4-x86_64-linux).
 * Names may hold dashes (rack-test), installed versions never do (Gem::Version turns '-' into ".pre."), so the file
 * name splits at the first dash-separated part that is a version and is followed by nothing or by a known platform.
 * The `s.name = "..."` / `s.version = "..."` (and `s.platform`) lines RubyGems writes into the file are read too:
 * when present they are what Ruby activates, so they win and also settle names the file name alone leaves ambiguous;
 * without them the file name is the answer. Format 'gem'; location = the gemspec's path.
 */
import type { Package } from '../../model.js';
import type { PackageScanner } from '../../indexer/types.js';
import { isValidGemVersion } from '../../versions/gem.js';

export const RUBY_SCANNER_NAME = 'ruby';
export const RUBY_SCANNER_VERSION = '1';

const MAX_BYTES = 1024 * 1024;

const SPEC_PATH = /(?:^|\/)specifications\/(?:default\/)?([^/]+)\.gemspec$/;

/** Which layer paths hold installed gem specifications. */
export function wantsGemspec(path: string): boolean {
  return SPEC_PATH.test(path);
}

// An installed version: digits first, dot-separated alphanumerics, no dash.
const FILE_VERSION = /^[0-9]+(?:\.[0-9a-zA-Z]+)*$/;
const GEM_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/;

/**
 * Gem::Platform spellings as they end full names: java/jruby/mswin32/mingw32 alone, or cpu-os with an optional
 * version/ABI tail (x86_64-linux, aarch64-linux-musl, x64-mingw-ucrt, arm64-darwin-22, universal-java-11).
 */
const PLATFORM = new RegExp(
  '^(?:java|jruby|dalvik[0-9]*|mswin(?:32|64)?|mingw32|' +
    '(?:x86|x86_64|x64|i[3-6]86|aarch64|arm64|arm|armv[0-9][0-9a-z]*|powerpc(?:64)?(?:le)?|ppc64(?:le)?|s390x?|' +
    'universal|sparc(?:64)?|riscv64|loongarch64|mips[0-9a-z]*|ia64)' +
    '-(?:linux|darwin|mingw32|mingw|mswin32|mswin64|mswin|freebsd|openbsd|netbsd|solaris|java|cygwin|aix|dalvik|wasi)' +
    '(?:-[0-9A-Za-z_.]+)*)$',
);

export function isKnownPlatform(s: string): boolean {
  return PLATFORM.test(s);
}

/** `<name>-<version>[-<platform>]` → its parts; undefined when no split gives a version and a known platform. */
export function parseGemFullName(full: string): { name: string; version: string; platform?: string } | undefined {
  const parts = full.split('-');
  for (let i = 1; i < parts.length; i++) {
    if (!FILE_VERSION.test(parts[i]!)) continue;
    const name = parts.slice(0, i).join('-');
    if (!GEM_NAME.test(name)) continue;
    const rest = parts.slice(i + 1).join('-');
    if (rest === '') return { name, version: parts[i]! };
    if (isKnownPlatform(rest)) return { name, version: parts[i]!, platform: rest };
  }
  return undefined;
}

/** `s.name = "x"` (also 'x', %q{x}, "x".freeze, Gem::Version.new("x")) for name, version and platform. */
export function parseGemspec(text: string): { name?: string; version?: string; platform?: string } {
  const out: { name?: string; version?: string; platform?: string } = {};
  const re =
    /^[ \t]*\w+\.(name|version|platform)[ \t]*=[ \t]*(?:Gem::Version\.new\(|Gem::Platform\.new\()?[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|%q\{([^}\n]*)\})/gm;
  for (const m of text.matchAll(re)) {
    const key = m[1] as 'name' | 'version' | 'platform';
    out[key] ??= (m[2] ?? m[3] ?? m[4] ?? '').trim();
  }
  return out;
}

function purl(name: string, version: string, platform?: string): string {
  const q = platform ? `?platform=${encodeURIComponent(platform)}` : '';
  return `pkg:gem/${encodeURIComponent(name)}@${encodeURIComponent(version)}${q}`;
}

export const rubyScanner: PackageScanner = {
  name: RUBY_SCANNER_NAME,
  version: RUBY_SCANNER_VERSION,
  kind: 'package',
  wants: wantsGemspec,
  async scan(view, signal) {
    const out: Package[] = [];
    for (const p of view.list()) {
      const m = SPEC_PATH.exec(p);
      if (!m) continue;
      signal?.throwIfAborted();
      const fromFile = parseGemFullName(m[1]!);
      let fromText: ReturnType<typeof parseGemspec> = {};
      try {
        fromText = parseGemspec((await view.readFile(p, MAX_BYTES)).toString('utf8'));
      } catch {
        // Unreadable or over the bound: the file name still says what is installed.
      }
      let name: string | undefined;
      let version: string | undefined;
      let platform: string | undefined;
      if (fromText.name && fromText.version && GEM_NAME.test(fromText.name) && isValidGemVersion(fromText.version)) {
        name = fromText.name;
        version = fromText.version.trim();
        platform = fromText.platform && fromText.platform !== 'ruby' ? fromText.platform : undefined;
        // The file name carries the platform when the text only computes it (s.platform = Gem::Platform.local).
        const tail = m[1]!.startsWith(`${name}-${version}-`) ? m[1]!.slice(name.length + version.length + 2) : '';
        if (!platform && isKnownPlatform(tail)) platform = tail;
      } else if (fromFile) {
        ({ name, version, platform } = fromFile);
      }
      if (!name || !version) continue;
      const pkg: Package = { name, version, format: 'gem', location: p, purl: purl(name, version, platform) };
      if (platform) pkg.arch = platform;
      out.push(pkg);
    }
    return out.sort((a, b) => a.location.localeCompare(b.location));
  },
};
