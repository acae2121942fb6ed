import type { Scanner } from '../indexer/types.js';
import { osReleaseScanner } from './osrelease/distribution-scanner.js';
import { dpkgScanner } from './dpkg/package-scanner.js';
import { apkScanner } from './apk/package-scanner.js';
import { pythonScanner } from './python/package-scanner.js';
import { npmScanner } from './npm/package-scanner.js';
import { rpmScanner } from './rpm/package-scanner.js';
import { goScanner } from './go/package-scanner.js';
import { javaScanner } from './java/package-scanner.js';
import { rubyScanner } from './ruby/package-scanner.js';

/** Every scanner the indexer runs, explicitly: the controllers know ecosystems only through this list. */
export const SCANNERS: readonly Scanner[] = [
  osReleaseScanner, dpkgScanner, apkScanner, rpmScanner, pythonScanner, npmScanner, goScanner, javaScanner, rubyScanner,
];
