import { createHash } from 'node:crypto';

/** Small helpers to speak /v2 in tests with plain fetch (no client library hides what is on the wire). */
export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A fetch that may add credentials (see registry-auth.ts); plain fetch by default. */
export type Fetcher = (url: string, init?: RequestInit) => Promise<Response>;

export async function pushBlob(base: string, repo: string, data: Uint8Array, fetcher: Fetcher = fetch): Promise<string> {
  const digest = sha256(data);
  const r = await fetcher(`${base}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST", body: data as unknown as BodyInit, headers: { 'Content-Type': 'application/octet-stream' },
  });
  if (r.status !== 201) throw new Error(`push blob: ${r.status} ${await r.text()}`);
  return digest;
}

export interface PushedImage {
  manifest: Uint8Array;
  digest: string;
  config: string;
  layers: string[];
}

/** Pushes config + layers + an OCI image manifest under `ref`. */
export async function pushImage(
  base: string, repo: string, ref: string,
  opts: { layers?: Uint8Array[]; extra?: Record<string, unknown>; configBytes?: Uint8Array; configMediaType?: string; fetch?: Fetcher } = {},
): Promise<PushedImage> {
  const configBytes = opts.configBytes ?? new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', n: Math.random() }));
  const layers = opts.layers ?? [new TextEncoder().encode(`layer-${Math.random()}`)];
  const fetcher = opts.fetch ?? fetch;
  const config = await pushBlob(base, repo, configBytes, fetcher);
  const layerDigests: string[] = [];
  for (const l of layers) layerDigests.push(await pushBlob(base, repo, l, fetcher));
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: opts.configMediaType ?? 'application/vnd.oci.image.config.v1+json', digest: config, size: configBytes.length },
    layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigests[i], size: l.length })),
    ...opts.extra,
  }));
  const r = await fetcher(`${base}/v2/${repo}/manifests/${ref}`, {
    method: "PUT", body: manifest as unknown as BodyInit, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (r.status !== 201) throw new Error(`push manifest: ${r.status} ${await r.text()}`);
  return { manifest, digest: sha256(manifest), config, layers: layerDigests };
}

export async function errorCode(r: Response): Promise<string | undefined> {
  const body = (await r.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code;
}
