// Renders the cluster config template (deploy/geo/cluster.compose.json) for docker-compose.geo.yml: every
// "${NAME}" inside a JSON string is replaced by the environment variable NAME (JSON-escaped), and a missing or
// empty one fails naming it. Plain Node, no dependencies: it runs in the stock node image before any Wharf node.
//
//   node render-config.mjs <template.json> <out.json>
//
// The output holds the stores' credentials: written 0600 and, when run as root, owned by uid/gid 1000 (the
// image's `node` user, which the registry nodes and replicators run as).
import { chownSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export function render(template, env) {
  const missing = new Set();
  const walk = (v) => {
    if (typeof v === 'string') {
      return v.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_, name) => {
        const value = env[name];
        if (value === undefined || value === '') missing.add(name);
        return value ?? '';
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const out = walk(template);
  if (missing.size > 0) throw new Error(`unset environment variables: ${[...missing].sort().join(', ')}`);
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [src, dest] = process.argv.slice(2);
  if (!src || !dest) {
    process.stderr.write('usage: node render-config.mjs <template.json> <out.json>\n');
    process.exit(2);
  }
  try {
    const text = `${JSON.stringify(render(JSON.parse(readFileSync(src, 'utf8')), process.env), null, 2)}\n`;
    writeFileSync(`${dest}.tmp`, text, { mode: 0o600 });
    if (process.getuid?.() === 0) chownSync(`${dest}.tmp`, 1000, 1000);
    renameSync(`${dest}.tmp`, dest);
    process.stdout.write(`wrote ${dest}\n`);
  } catch (err) {
    process.stderr.write(`render-config: ${err.message}\n`);
    process.exit(1);
  }
}
