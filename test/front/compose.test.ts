import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DEFAULTS, loadConfig } from '../../shared/config/index.js';
import { GEO_REGIONS } from '../../deploy/local/geo-up.js';
import { COMPOSE_CLUSTER_FILE, COMPOSE_FRONT_DIR, CONTAINER_DIR, renderComposeFront } from '../../deploy/geo/generate-front.js';

/**
 * docker-compose.geo.yml cannot be run here (no Docker engine), so it is checked statically: it parses, has the
 * topology of geo:up for every region of deploy/geo/cluster.compose.json, uses only real WHARF_* config keys,
 * references files that exist, and the config every node would get loads with Wharf's own loader.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE = join(ROOT, 'docker-compose.geo.yml');
/** Each region's scanner listens here (WHARF_SCANNER_PORT); its registry nodes reach it as http://scanner-<region>:<port>. */
const SCANNER_PORT = '5010';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, unknown> | string[];
  secrets?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  secrets?: Record<string, { file: string }>;
}

const compose = parse(readFileSync(COMPOSE, 'utf8'), { merge: true }) as Compose;
const template = JSON.parse(readFileSync(COMPOSE_CLUSTER_FILE, 'utf8')) as {
  cluster: { regions: Record<string, { nodes: string[]; nearest: string[]; clientCidrs: string[] }>; replication: { namespaces: Record<string, { syncRegions: number }> } };
};
const regions = Object.keys(template.cluster.regions);

/** WHARF_<PATH> for every config key, named exactly as loadConfig names them. */
function configEnvNames(t: Record<string, unknown>, at = ''): string[] {
  return Object.entries(t).flatMap(([k, v]) => {
    const path = at ? `${at}.${k}` : k;
    if (v !== null && typeof v === 'object') return configEnvNames(v as Record<string, unknown>, path);
    return [`WHARF_${path.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`];
  });
}
const KNOWN = new Set([...configEnvNames(DEFAULTS as unknown as Record<string, unknown>), 'WHARF_CONFIG']);
const isKnown = (name: string): boolean => KNOWN.has(name) || KNOWN.has(name.replace(/_FILE$/, ''));

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR:?message} → a value (dummy for required ones). */
const interpolate = (s: string): string =>
  s.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::?([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => (op === '-' ? arg ?? '' : `dummy-${name.toLowerCase()}`));

const dockerfileEnv = (): Record<string, string> => {
  const text = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^ENV (.+)$/gm)) for (const kv of m[1]!.trim().split(/\s+/)) out[kv.split('=')[0]!] = kv.split('=').slice(1).join('=');
  return out;
};

describe('docker-compose.geo.yml', () => {
  it('has, per region of the cluster config, its two registry nodes, a replicator and a scanner, plus PostgreSQL, 3 NATS servers and the front', () => {
    assert.deepEqual(regions, GEO_REGIONS.map((r) => r.name), 'the same regions as geo:up');
    const expected = ['config', 'postgres', 'nats-1', 'nats-2', 'nats-3', 'front'];
    for (const r of regions) {
      const nodes = template.cluster.regions[r]!.nodes.map((u) => new URL(u).hostname);
      assert.equal(nodes.length, 2, `${r} has two nodes`);
      for (const [i, host] of nodes.entries()) {
        assert.equal(host, `registry-${r}-${i + 1}`);
        const s = compose.services[host];
        assert.ok(s, `service ${host}`);
        assert.equal(s.environment?.WHARF_NODE_REGION, r);
        assert.equal(s.command, undefined, `${host} runs the image's default command (the registry)`);
        assert.ok(s.build?.dockerfile === 'deploy/Dockerfile');
        assert.match(s.healthcheck!.test.join(' '), /127\.0\.0\.1:5000\/readyz/);
        assert.equal(new URL(template.cluster.regions[r]!.nodes[i]!).port, '5000');
        assert.equal(s.environment?.WHARF_SCANNER_URL, `http://scanner-${r}:${SCANNER_PORT}`, `${host} uses its region's scanner`);
        expected.push(host);
      }
      const rep = compose.services[`replicator-${r}`];
      assert.ok(rep, `replicator-${r}`);
      assert.deepEqual(rep.command, ['npx', 'tsx', 'nodes/replicator/src/main.ts']);
      assert.equal(rep.environment?.WHARF_NODE_REGION, r);
      assert.match(rep.healthcheck!.test.join(' '), new RegExp(`127\\.0\\.0\\.1:${dockerfileEnv().WHARF_REPLICATOR_METRICS_PORT}/readyz`));
      expected.push(`replicator-${r}`);
      const scanner = compose.services[`scanner-${r}`];
      assert.ok(scanner, `scanner-${r}`);
      assert.deepEqual(scanner.command, ['npx', 'tsx', 'nodes/scanner/src/main.ts']);
      assert.equal(scanner.environment?.WHARF_NODE_REGION, r);
      assert.equal(scanner.environment?.WHARF_SCANNER_PORT, SCANNER_PORT);
      assert.equal(scanner.environment?.WHARF_CONFIG, compose.services[`replicator-${r}`]!.environment?.WHARF_CONFIG, 'the cluster config, like the replicator');
      assert.match(scanner.healthcheck!.test.join(' '), new RegExp(`127\\.0\\.0\\.1:${SCANNER_PORT}/healthz`));
      expected.push(`scanner-${r}`);
    }
    // The header's table names every region's services.
    const header = readFileSync(COMPOSE, 'utf8').split('\n').filter((l) => l.startsWith('#'));
    for (const r of regions) {
      const row = header.find((l) => new RegExp(`^#\\s+${r}\\s`).test(l));
      assert.ok(row, `header row for ${r}`);
      for (const svc of [`registry-${r}-1/2`, `replicator-${r}`, `scanner-${r}`]) assert.ok(row.includes(svc), `header row for ${r} names ${svc}`);
    }
    assert.deepEqual(Object.keys(compose.services).sort(), expected.sort());
    assert.equal(compose.services.front!.image, 'haproxy:2.6');
    assert.equal(compose.services.postgres!.image?.startsWith('postgres:'), true);
  });

  it('matches geo:up: nearest orders, one client network per region, prod with syncRegions 2', () => {
    for (const g of GEO_REGIONS) {
      const r = template.cluster.regions[g.name]!;
      assert.deepEqual(r.nearest, [...g.nearest], `${g.name} nearest`);
      assert.equal(r.clientCidrs.length, 1);
    }
    assert.equal(template.cluster.replication.namespaces.prod?.syncRegions, 2);
  });

  it('runs a 3-node NATS JetStream cluster (routes to the two others, storage volume, health check) that every node uses', () => {
    const names = ['nats-1', 'nats-2', 'nats-3'];
    for (const n of names) {
      const s = compose.services[n]!;
      assert.match(s.image!, /^nats:2\.10/);
      const cmd = s.command!.join(' ');
      assert.match(cmd, /--jetstream/);
      assert.match(cmd, new RegExp(`--name ${n}\\b`));
      const routes = /--routes (\S+)/.exec(cmd)![1]!.split(',');
      assert.deepEqual(routes.sort(), names.filter((x) => x !== n).map((x) => `nats://${x}:6222`).sort());
      const store = /--store_dir (\S+)/.exec(cmd)![1]!;
      assert.ok(s.volumes?.some((v) => v.endsWith(`:${store}`) && v.split(':')[0]! in compose.volumes), `${n} stores JetStream on a named volume`);
      assert.match(s.healthcheck!.test.join(' '), /8222\/healthz/);
    }
    for (const [name, s] of Object.entries(compose.services).filter(([n]) => /^(registry|replicator|scanner)-/.test(n))) {
      assert.deepEqual(s.environment!.WHARF_NATS_URL!.split(',').sort(), names.map((x) => `nats://${x}:4222`), name);
      assert.equal(s.environment!.WHARF_NATS_STREAM_REPLICAS, '3');
    }
  });

  it('uses only WHARF_* variables that are config keys', () => {
    const text = readFileSync(COMPOSE, 'utf8');
    const used = new Set<string>();
    for (const s of Object.values(compose.services)) for (const k of Object.keys(s.environment ?? {})) if (k.startsWith('WHARF_')) used.add(k);
    for (const m of text.matchAll(/\$\{(WHARF_[A-Z0-9_]+)/g)) used.add(m[1]!);
    for (const m of readFileSync(COMPOSE_CLUSTER_FILE, 'utf8').matchAll(/\$\{(WHARF_[A-Z0-9_]+)/g)) used.add(m[1]!);
    for (const k of Object.keys(dockerfileEnv())) if (k.startsWith('WHARF_')) used.add(k);
    assert.ok(used.size > 5);
    assert.deepEqual([...used].filter((k) => !isKnown(k)), [], 'unknown WHARF_* keys');
  });

  it('references files, volumes and secrets that exist', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.build) {
        assert.ok(existsSync(join(ROOT, s.build.context, s.build.dockerfile)), `${name}: ${s.build.dockerfile}`);
      }
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('.')) assert.ok(existsSync(join(ROOT, src)), `${name}: ${src}`);
        else assert.ok(src in compose.volumes, `${name}: volume ${src} is declared`);
      }
      for (const sec of s.secrets ?? []) assert.ok(compose.secrets?.[sec], `${name}: secret ${sec}`);
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) assert.ok(compose.services[d], `${name} depends on ${d}`);
    }
    // What the containers run and read.
    const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
    for (const m of dockerfile.matchAll(/^COPY (.+) \S+$/gm)) for (const f of m[1]!.split(/\s+/)) assert.ok(existsSync(join(ROOT, f)), `Dockerfile COPY ${f}`);
    assert.match(dockerfile, /CMD \["npx", "tsx", "nodes\/registry\/src\/main\.ts"\]/);
    for (const f of ['nodes/registry/src/main.ts', 'nodes/replicator/src/main.ts', 'nodes/scanner/src/main.ts']) assert.ok(existsSync(join(ROOT, f)), f);
    const cfg = compose.services.config!;
    const geoMount = cfg.volumes!.find((v) => v.startsWith('./deploy/geo:'))!.split(':')[1]!;
    for (const arg of cfg.command!.filter((a) => a.startsWith(`${geoMount}/`))) assert.ok(existsSync(join(ROOT, 'deploy/geo', arg.slice(geoMount.length + 1))), arg);
    const front = compose.services.front!;
    assert.ok(front.volumes!.includes(`./deploy/geo/front:${CONTAINER_DIR}:ro`));
    for (const f of ['haproxy.cfg', 'regions.map']) assert.ok(existsSync(join(COMPOSE_FRONT_DIR, f)), f);
  });

  it('the committed front config is what deploy/geo/generate-front.ts generates now', async () => {
    const { cfg, map } = await renderComposeFront();
    assert.equal(readFileSync(join(COMPOSE_FRONT_DIR, 'haproxy.cfg'), 'utf8'), cfg, 'stale: npx tsx deploy/geo/generate-front.ts');
    assert.equal(readFileSync(join(COMPOSE_FRONT_DIR, 'regions.map'), 'utf8'), map, 'stale: npx tsx deploy/geo/generate-front.ts');
    assert.match(cfg, /^# Regenerate: npx tsx deploy\/geo\/generate-front\.ts/m);
    for (const r of regions) for (const u of template.cluster.regions[r]!.nodes) assert.ok(cfg.includes(`${new URL(u).hostname}:5000 check`), u);
  });

  it('every node loads its config with Wharf\'s loader, from the template rendered with the variables compose checks', () => {
    const cfg = compose.services.config!;
    const placeholders = new Set([...readFileSync(COMPOSE_CLUSTER_FILE, 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]!));
    for (const p of placeholders) {
      assert.ok(cfg.environment?.[p], `the config service passes ${p}`);
      assert.match(cfg.environment[p]!, new RegExp(`^\\$\\{${p}:[?-]`), `${p} is checked (or defaulted) by compose`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'wharf-compose-'));
    try {
      const render = (env: Record<string, string>): void => {
        execFileSync(process.execPath, [join(ROOT, 'deploy/geo/render-config.mjs'), COMPOSE_CLUSTER_FILE, join(dir, 'cluster.json')], { env, stdio: 'pipe' });
      };
      assert.throws(() => render({ PATH: process.env.PATH ?? '' }), (err: Error & { stderr?: Buffer }) => /unset environment variables: .*EU_WEST_AZURE_ACCOUNT_KEY/.test(String(err.stderr)));
      const renderEnv = Object.fromEntries(Object.entries(cfg.environment!).map(([k, v]) => [k, interpolate(v)]));
      renderEnv.FRONT_PUBLIC_URL = 'https://registry.example';
      render(renderEnv);
      const rendered = readFileSync(join(dir, 'cluster.json'), 'utf8');
      assert.doesNotMatch(rendered, /\$\{/);
      const image = dockerfileEnv();
      for (const [name, s] of Object.entries(compose.services).filter(([n]) => /^(registry|replicator|scanner)-/.test(n))) {
        const env = { ...image, ...Object.fromEntries(Object.entries(s.environment!).map(([k, v]) => [k, interpolate(v)])) };
        const c = loadConfig(env, { file: join(dir, 'cluster.json') });
        assert.equal(c.node.region, s.environment!.WHARF_NODE_REGION, name);
        assert.deepEqual(c.cluster.regions.map((r) => r.name).sort(), [...regions].sort());
        assert.deepEqual(c.cluster.regions.map((r) => r.storage.driver).sort(), ['azure', 'gcs', 's3']);
        assert.equal(c.nats.streamReplicas, 3);
        assert.equal(c.server.port, 5000);
        assert.equal(c.replicator.metricsPort, 5009);
        if (name.startsWith('scanner-')) assert.equal(c.scanner.port, Number(SCANNER_PORT), name);
        if (name.startsWith('registry-')) assert.equal(c.scanner.url, `http://scanner-${c.node.region}:${SCANNER_PORT}`, name);
        assert.match(c.database.url!, /^postgres:\/\/wharf:.+@postgres:5432\/wharf$/);
        assert.equal(c.cluster.replication.namespaces.prod?.syncRegions, 2);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
