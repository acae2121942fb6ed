import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Sandboxed runners for the real skopeo, podman and buildah binaries. Everything they would read or write outside
 * the project (auth files, registries.conf, trust policy, the blob-info cache, podman's and buildah's storage and
 * state) is pointed at a temp directory, so the tests neither depend on nor change the machine's container
 * configuration.
 */

export interface ToolResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  command: string;
}

/** A command that must not hang the suite; generous, and never asserted on. */
const COMMAND_TIMEOUT_MS = 120_000;

function run(file: string, args: string[], env: NodeJS.ProcessEnv, shown?: string[]): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: COMMAND_TIMEOUT_MS }, (err, stdout, stderr) => {
      const command = (shown ?? [file, ...args]).join(' ');
      if (err && typeof err.code !== 'number') {
        if (err.code === 'ENOENT') {
          reject(new Error(`${file} is not installed (or not on PATH)`));
          return;
        }
        if (err.killed) {
          reject(new Error(`${command} did not finish within ${COMMAND_TIMEOUT_MS / 1000}s\n${stderr.toString()}`));
          return;
        }
        reject(err);
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr: stderr.toString('utf8'), command });
    });
  });
}

/** Fails (never skips) when `bin` is missing, with how to install it. Returns its `--version` line. */
export async function requireTool(bin: string, pkg: string): Promise<string> {
  try {
    const r = await run(bin, ['--version'], process.env);
    if (r.code !== 0) throw new Error(`${bin} --version exited ${r.code}: ${r.stderr}`);
    return r.stdout.toString().trim();
  } catch (e) {
    throw new Error(
      `the interop tests need the real ${bin} binary: ${(e as Error).message}. ` +
      `Install it with \`apt-get install ${pkg}\` (Debian/Ubuntu) and run the tests again.`,
    );
  }
}

export function check(r: ToolResult): ToolResult {
  if (r.code !== 0) throw new Error(`${r.command}\nexited ${r.code}\n${r.stderr}`);
  return r;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Accept-anything trust policy, so no signature configuration of the machine applies. */
const POLICY = JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] });

async function baseSandbox(dir: string): Promise<{ env: NodeJS.ProcessEnv; policy: string; registriesConf: string }> {
  const home = join(dir, 'home');
  await mkdir(join(home, 'data'), { recursive: true });
  await mkdir(join(home, 'config'), { recursive: true });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const policy = join(dir, 'policy.json');
  const auth = join(dir, 'auth.json');
  const registriesConf = join(dir, 'registries.conf');
  await writeFile(policy, POLICY);
  // Also where containers/image looks first when no policy is named ($HOME/.config/containers/policy.json):
  // `podman manifest push` has no --signature-policy flag.
  await mkdir(join(home, '.config', 'containers'), { recursive: true });
  await writeFile(join(home, '.config', 'containers', 'policy.json'), POLICY);
  await writeFile(auth, JSON.stringify({ auths: {} }));
  await writeFile(registriesConf, '');
  return {
    policy,
    registriesConf,
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: home,
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CONFIG_HOME: join(home, 'config'),
      REGISTRY_AUTH_FILE: auth,
      TMPDIR: join(dir, 'tmp'),
    },
  };
}

export class Skopeo {
  private constructor(readonly version: string, private readonly env: NodeJS.ProcessEnv, private readonly globals: string[]) {}

  /** `dir` must be an empty temp directory; it holds skopeo's config, auth file and blob-info cache. */
  static async create(dir: string): Promise<Skopeo> {
    const version = await requireTool('skopeo', 'skopeo');
    const { env, policy, registriesConf } = await baseSandbox(dir);
    const registriesD = join(dir, 'registries.d');
    await mkdir(registriesD);
    // As root, containers/image keeps its blob-info cache in /var/lib/containers/cache; with a non-zero
    // "rootless" uid it uses $XDG_DATA_HOME/containers/cache instead (skopeo itself has no storage to care).
    if (isRoot()) env._CONTAINERS_ROOTLESS_UID = '1000';
    const globals = ['--policy', policy, '--registries.d', registriesD, '--registries-conf', registriesConf, '--tmpdir', env.TMPDIR!];
    return new Skopeo(version, env, globals);
  }

  /** `skopeo [globals] <args>`; `pre` are global flags such as --override-arch. */
  run(args: string[], pre: string[] = []): Promise<ToolResult> {
    return run('skopeo', [...this.globals, ...pre, ...args], this.env);
  }

  async ok(args: string[], pre: string[] = []): Promise<ToolResult> {
    return check(await this.run(args, pre));
  }
}

/**
 * containers/storage on the vfs driver under `dir`, shared by podman and buildah: temp containers.conf and
 * storage.conf, and `--root`/`--runroot` flags pointing into `dir`. As root, each process runs in a private mount
 * namespace with throwaway overlays on /var/lib and /run: podman 4.3 and buildah 1.28 hardcode
 * /var/lib/containers/cache (blob-info cache) and /run/containers/networks (netavark state) for root, which would
 * otherwise be created on the machine.
 */
async function storageSandbox(
  dir: string, bin: string, extraGlobals: (paths: { tmp: string; registriesConf: string }) => string[],
): Promise<{ env: NodeJS.ProcessEnv; policy: string; prefix: string[] }> {
  const { env, policy, registriesConf } = await baseSandbox(dir);
  const root = join(dir, 'storage');
  const runroot = join(dir, 'runroot');
  const tmp = join(dir, 'libpod-tmp');
  const net = join(dir, 'networks');
  for (const d of [root, runroot, tmp, net]) await mkdir(d, { recursive: true });
  const containersConf = join(dir, 'containers.conf');
  const storageConf = join(dir, 'storage.conf');
  await writeFile(containersConf, [
    '[engine]', 'events_logger = "none"', 'cgroup_manager = "cgroupfs"', `tmp_dir = ${JSON.stringify(tmp)}`,
    '[network]', `network_config_dir = ${JSON.stringify(net)}`, '',
  ].join('\n'));
  await writeFile(storageConf, [
    '[storage]', 'driver = "vfs"', `graphroot = ${JSON.stringify(root)}`, `runroot = ${JSON.stringify(runroot)}`, '',
  ].join('\n'));
  Object.assign(env, { CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf, CONTAINERS_REGISTRIES_CONF: registriesConf });
  const tool = [bin, '--root', root, '--runroot', runroot, ...extraGlobals({ tmp, registriesConf }), '--storage-driver', 'vfs'];
  let prefix = tool;
  if (isRoot()) {
    const ov = join(dir, 'overlays');
    for (const d of ['var-lib/up', 'var-lib/work', 'run/up', 'run/work']) await mkdir(join(ov, d), { recursive: true });
    const script = [
      'set -e',
      'o=$1; shift',
      'mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$o/var-lib/up,workdir=$o/var-lib/work" /var/lib',
      'mount -t overlay overlay -o "lowerdir=/run,upperdir=$o/run/up,workdir=$o/run/work" /run',
      'exec "$@"',
    ].join('\n');
    prefix = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ov, ...tool];
  }
  return { env, policy, prefix };
}

/** podman on vfs storage under `dir` (see storageSandbox). */
export class Podman {
  private constructor(
    readonly version: string, private readonly env: NodeJS.ProcessEnv, private readonly prefix: string[], readonly policy: string,
  ) {}

  static async create(dir: string): Promise<Podman> {
    const version = await requireTool('podman', 'podman');
    const { env, policy, prefix } = await storageSandbox(dir, 'podman', ({ tmp }) => ['--tmpdir', tmp]);
    return new Podman(version, env, prefix, policy);
  }

  run(args: string[]): Promise<ToolResult> {
    return run(this.prefix[0]!, [...this.prefix.slice(1), ...args], this.env, ['podman', ...args]);
  }

  async ok(args: string[]): Promise<ToolResult> {
    return check(await this.run(args));
  }
}

/**
 * buildah on vfs storage under `dir` (see storageSandbox). Its registries.conf is the sandbox's empty one; pass
 * `policy` as --signature-policy to the commands that copy images (commit, push).
 */
export class Buildah {
  private constructor(
    readonly version: string, private readonly env: NodeJS.ProcessEnv, private readonly prefix: string[], readonly policy: string,
  ) {}

  static async create(dir: string): Promise<Buildah> {
    const version = await requireTool('buildah', 'buildah');
    // buildah has no --tmpdir; TMPDIR (set by baseSandbox) and containers.conf's tmp_dir cover its temp files.
    const { env, policy, prefix } = await storageSandbox(dir, 'buildah', ({ registriesConf }) => ['--registries-conf', registriesConf]);
    return new Buildah(version, env, prefix, policy);
  }

  run(args: string[]): Promise<ToolResult> {
    return run(this.prefix[0]!, [...this.prefix.slice(1), ...args], this.env, ['buildah', ...args]);
  }

  async ok(args: string[]): Promise<ToolResult> {
    return check(await this.run(args));
  }
}
