import { GcsDriver } from './driver.js';
import { parseGcsParams } from './params.js';

/** Test-only access to a whole bucket, beneath any root prefix, to see what the driver really left behind. */
export function rawBucket(apiEndpoint: string, bucket: string): GcsDriver {
  return new GcsDriver(parseGcsParams({ bucket, apiEndpoint, emulator: true }));
}

async function allNames(raw: GcsDriver): Promise<string[]> {
  const names: string[] = [];
  for await (const page of raw.pages('')) for (const o of page) names.push(o.name);
  return names;
}

/** Every object in the bucket, as store keys (root prefix stripped), sorted. */
export async function leftovers(raw: GcsDriver, rootPrefix?: string): Promise<string[]> {
  const strip = (k: string): string => (rootPrefix && k.startsWith(`${rootPrefix}/`) ? k.slice(rootPrefix.length + 1) : k);
  return (await allNames(raw)).map(strip).sort();
}

/** Empties the bucket (emulated buckets cannot be deleted, and need not be). */
export async function emptyBucket(raw: GcsDriver): Promise<void> {
  await raw.deleteNames(await allNames(raw));
}
