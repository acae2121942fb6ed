import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../nodes/registry/src/main.ts', import.meta.url));

export interface RegistryProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (pino JSON lines). */
  output(): string;
  exited: Promise<number | null>;
}

/** The registry as its own OS process, exactly as `npm start` runs it, so tests can SIGKILL or SIGTERM it. */
export async function spawnRegistry(env: Record<string, string>): Promise<RegistryProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, WHARF_SERVER_HOST: '127.0.0.1', WHARF_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const port = await new Promise<number>((resolve, reject) => {
    const onData = () => {
      const m = /"port":(\d+)[^\n]*"msg":"registry node listening"/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`registry exited with ${code} before listening:\n${out}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child, output: () => out, exited };
}
