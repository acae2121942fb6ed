import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

/** Test-only access to the raw container, beneath the driver, to see what it really left behind. */
export function adminService(connectionString: string): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(connectionString);
}

/** Every blob in the container, uncommitted ones (staged blocks only) included, as store keys (root prefix stripped). */
export async function leftovers(container: ContainerClient, rootPrefix?: string): Promise<string[]> {
  const strip = (k: string): string => (rootPrefix && k.startsWith(`${rootPrefix}/`) ? k.slice(rootPrefix.length + 1) : k);
  const names: string[] = [];
  for await (const b of container.listBlobsFlat({ includeUncommitedBlobs: true })) names.push(strip(b.name));
  return names.sort();
}
