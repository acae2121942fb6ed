import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterConfig } from '../../shared/config/cluster.js';
import { renderHaproxyConfig } from '../../deploy/front/haproxy.js';
import { checkHaproxyConfig, haproxyBinary, startHaproxy } from '../../deploy/front/haproxy-process.js';
import { generateFront } from '../../deploy/front/generate.js';
import { freePort, stopPid, tail, type Spawned } from '../../deploy/local/processes.js';
import { request, until } from '../../deploy/local/http-request.js';

/**
 * The generated HAProxy front, run by the real haproxy, in front of stand-in nodes (node:http servers that answer
 * /readyz 200 or 503 on demand and say who they are). Clients are told apart by source address (127.0.<n>.x).
 */
interface StandIn {
  name: string;
  region: string;
  port: number;
  ready: boolean;
  server: Server;
}

const REGIONS = ['us-east', 'eu-west', 'ap-south'] as const;
type Region = (typeof REGIONS)[number];
const CLIENT: Record<Region, string> = { 'us-east': '127.0.1.7', 'eu-west': '127.0.2.7', 'ap-south': '127.0.3.7' };
const NEAREST: Record<Region, Region[]> = { 'us-east': ['eu-west', 'ap-south'], 'eu-west': ['us-east', 'ap-south'], 'ap-south': ['eu-west', 'us-east'] };
/** Health checks every 1 s, 2 failures to go down, 2 successes to come up: a flip is seen within a few seconds. */
const FLIP_TIMEOUT_MS = 15_000;

describe('HAProxy locality front', () => {
  const nodes: StandIn[] = [];
  let dir: string;
  let front: string;
  let haproxy: Spawned | undefined;

  const startStandIn = async (name: string, region: string): Promise<StandIn> => {
    const node = { name, region, port: 0, ready: true } as StandIn;
    node.server = createServer((req, res) => {
      if (req.url === '/readyz') {
        res.writeHead(node.ready ? 200 : 503, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: node.ready ? 'ready' : 'not ready', region }));
        return;
      }
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'X-Node': name });
        res.end(JSON.stringify({ node: name, region, clientRegion: req.headers['x-wharf-client-region'] ?? null, path: req.url }));
      });
    });
    await new Promise<void>((r) => node.server.listen(0, '127.0.0.1', r));
    node.port = (node.server.address() as { port: number }).port;
    return node;
  };

  /** GET / as a client of `region` (by source address), optionally with X-Wharf-Region. */
  const ask = async (region: Region, headerRegion?: string) => {
    const r = await request(`${front}/v2/`, { localAddress: CLIENT[region], headers: headerRegion ? { 'X-Wharf-Region': headerRegion } : {} });
    assert.equal(r.status, 200, `front answered ${r.status}: ${r.text()}`);
    const body = r.json<{ node: string; region: string; clientRegion: string }>();
    assert.equal(r.header('x-wharf-served-region'), body.region, 'X-Wharf-Served-Region names the region of the node that answered');
    return body;
  };

  const setReady = (region: string, ready: boolean): void => {
    for (const n of nodes) if (n.region === region) n.ready = ready;
  };

  /** Waits until a client of `client` is served by `served` (the health checks have flipped). */
  const servedBy = (client: Region, served: Region): Promise<true> =>
    until(`a ${client} client to be served by ${served}`, FLIP_TIMEOUT_MS, async () => ((await ask(client)).region === served ? true : undefined));

  before(async () => {
    // Fail, never skip, when HAProxy is missing.
    haproxyBinary();
    dir = await mkdtemp(join(tmpdir(), 'wharf-front-test-'));
    for (const r of REGIONS) for (const i of [1, 2]) nodes.push(await startStandIn(`${r}-node${i}`, r));
    const cluster: ClusterConfig = {
      regions: REGIONS.map((r, i) => ({
        name: r,
        endpoint: null,
        nodes: nodes.filter((n) => n.region === r).map((n) => `http://127.0.0.1:${n.port}`),
        nearest: NEAREST[r],
        clientCidrs: [`127.0.${i + 1}.0/24`],
        storage: { driver: 'inmemory' },
      })),
      replication: { default: { regions: 'all', syncRegions: 1 }, namespaces: {} },
    };
    const port = await freePort();
    const mapFile = join(dir, 'regions.map');
    const { cfg, map } = renderHaproxyConfig(cluster, {
      bind: `127.0.0.1:${port}`,
      extraBinds: [`127.0.3.254:${port}`],
      regionByDestination: true,
      mapFile,
      defaultRegion: 'us-east',
    });
    await writeFile(mapFile, map);
    await writeFile(join(dir, 'haproxy.cfg'), cfg);
    haproxy = await startHaproxy({ cfgFile: join(dir, 'haproxy.cfg'), port, logFile: join(dir, 'haproxy.log') });
    front = `http://127.0.0.1:${port}`;
    // Servers start "up" in HAProxy; wait for the first round of checks anyway so every region is really usable.
    for (const r of REGIONS) await servedBy(r, r);
  });

  after(async () => {
    if (haproxy) await stopPid(haproxy.pid, { graceMs: 5000 });
    await Promise.all(nodes.map((n) => new Promise((r) => n.server.close(r))));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sends each client network to its region', async () => {
    for (const r of REGIONS) {
      for (const host of [1, 200]) {
        const addr = CLIENT[r].replace(/\.\d+$/, `.${host}`);
        const reply = await request(`${front}/v2/`, { localAddress: addr });
        assert.equal(reply.header('x-wharf-served-region'), r, `client ${addr}`);
        assert.equal(reply.header('x-wharf-client-region'), r);
        assert.equal(reply.json().clientRegion, r, 'the node is told the client region too');
      }
    }
    // Outside every client network: the default region.
    const other = await request(`${front}/v2/`, { localAddress: '127.0.9.1' });
    assert.equal(other.header('x-wharf-served-region'), 'us-east');
  });

  it('places a client outside every network by the front address it connected to', async () => {
    // Source 127.0.0.1 (no client network), destination in ap-south's network.
    const byDst = await request(`${front.replace('127.0.0.1', '127.0.3.254')}/v2/`, { localAddress: '127.0.0.1' });
    assert.equal(byDst.header('x-wharf-served-region'), 'ap-south');
    // The source address still wins over the destination.
    const bySrc = await request(`${front.replace('127.0.0.1', '127.0.3.254')}/v2/`, { localAddress: CLIENT['eu-west'] });
    assert.equal(bySrc.header('x-wharf-served-region'), 'eu-west');
  });

  it('lets X-Wharf-Region override the source address, and ignores a region it does not know', async () => {
    assert.equal((await ask('us-east', 'ap-south')).region, 'ap-south');
    assert.equal((await ask('ap-south', 'eu-west')).region, 'eu-west');
    assert.equal((await ask('eu-west', 'mars-1')).region, 'eu-west');
    const spoofed = await request(`${front}/v2/`, { localAddress: CLIENT['eu-west'], headers: { 'X-Wharf-Client-Region': 'us-east' } });
    assert.equal(spoofed.json().clientRegion, 'eu-west', 'a client cannot set the client-region header the nodes see');
  });

  it('spreads a region\'s requests over both of its nodes', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const b = await ask('eu-west');
      assert.equal(b.region, 'eu-west');
      seen.set(b.node, (seen.get(b.node) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ['eu-west-node1', 'eu-west-node2']);
    for (const n of seen.values()) assert.ok(n >= 5, `uneven spread: ${JSON.stringify([...seen])}`);
    // Concurrent requests too.
    const burst = await Promise.all(Array.from({ length: 12 }, () => ask('eu-west')));
    assert.equal(new Set(burst.map((b) => b.node)).size, 2);
  });

  it('keeps a region on its remaining node when one fails /readyz', async () => {
    nodes.find((n) => n.name === 'us-east-node1')!.ready = false;
    try {
      await until('us-east-node1 to leave the rotation', FLIP_TIMEOUT_MS, async () => {
        const burst = await Promise.all(Array.from({ length: 6 }, () => ask('us-east')));
        return burst.every((b) => b.node === 'us-east-node2') ? true : undefined;
      });
    } finally {
      nodes.find((n) => n.name === 'us-east-node1')!.ready = true;
    }
    await until('us-east-node1 to rejoin', FLIP_TIMEOUT_MS, async () => {
      const burst = await Promise.all(Array.from({ length: 8 }, () => ask('us-east')));
      return new Set(burst.map((b) => b.node)).size === 2 ? true : undefined;
    });
  });

  it('fails a region over to its nearest peer, then the next, and recovers when its nodes come back', async () => {
    setReady('ap-south', false);
    await servedBy('ap-south', 'eu-west'); // ap-south's nearest
    // Stable: every request goes there, and other regions are untouched.
    for (let i = 0; i < 5; i++) assert.equal((await ask('ap-south')).region, 'eu-west');
    assert.equal((await ask('us-east')).region, 'us-east');
    assert.equal((await ask('eu-west')).region, 'eu-west');
    // The header picks the region, the failover chain still applies.
    assert.equal((await ask('us-east', 'ap-south')).region, 'eu-west');

    setReady('eu-west', false);
    await servedBy('ap-south', 'us-east'); // next in ap-south's list
    await servedBy('eu-west', 'us-east'); // eu-west's nearest

    setReady('ap-south', true);
    await servedBy('ap-south', 'ap-south');
    await servedBy('eu-west', 'us-east'); // still down
    setReady('eu-west', true);
    await servedBy('eu-west', 'eu-west');
    for (const r of REGIONS) assert.equal((await ask(r)).region, r);
  });

  it('answers 503 when no region has a usable node, and recovers', async () => {
    for (const r of REGIONS) setReady(r, false);
    try {
      await until('every region to be down', FLIP_TIMEOUT_MS, async () => {
        const r = await request(`${front}/v2/`, { localAddress: CLIENT['eu-west'] });
        return r.status === 503 ? true : undefined;
      });
    } finally {
      for (const r of REGIONS) setReady(r, true);
    }
    for (const r of REGIONS) await servedBy(r, r);
  });

  it('the generated configuration passes haproxy -c without warnings', () => {
    // The log starts with `haproxy -c`'s output; health-check transitions (also WARNING lines) come after it.
    const check = tail(join(dir, 'haproxy.log'), 10_000).split('Configuration file is valid')[0]!;
    assert.doesNotMatch(check, /\[(WARNING|ALERT)\]/, check);
  });
});

describe('deploy/front/generate.ts', () => {
  it('writes haproxy.cfg and regions.map from a config file; the first listed region is the default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-front-gen-'));
    try {
      const file = join(dir, 'cluster.json');
      const storage = { driver: 'filesystem' };
      await writeFile(file, JSON.stringify({
        log: { level: 'info' },
        cluster: {
          regions: {
            'us-east': { nodes: ['http://127.0.0.1:5101', 'http://127.0.0.1:5102'], nearest: ['eu-west'], clientCidrs: ['127.0.1.0/24', '10.1.0.0/16'], storage },
            'eu-west': { nodes: ['http://127.0.0.1:5201'], clientCidrs: ['127.0.2.0/24'], storage },
          },
        },
      }));
      const { cfgFile, mapFile } = await generateFront(file, join(dir, 'out'), { bind: '127.0.0.1:18080' });
      const cfg = await readFile(cfgFile, 'utf8');
      assert.equal(await readFile(mapFile, 'utf8'), '# client network (CIDR) -> region; generated from cluster.regions.<r>.clientCidrs\n127.0.2.0/24 eu-west\n127.0.1.0/24 us-east\n10.1.0.0/16 us-east\n');
      assert.match(cfg, /default_backend be_us-east/);
      assert.match(cfg, new RegExp(`src,map_ip\\(${mapFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`));
      assert.match(cfg, /server us-east-2 127\.0\.0\.1:5102 check inter 1s fall 2 rise 2/);
      assert.match(cfg, /use_backend be_us-east if client_us-east up_us-east\n\s+use_backend be_eu-west if client_us-east up_eu-west/);
      await checkHaproxyConfig(cfgFile, join(dir, 'check.log'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
