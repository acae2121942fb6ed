import {
  AbortMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

/** Test-only access to the raw bucket, beneath the driver, to see what it really left behind. */
export function adminClient(c: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }): S3Client {
  return new S3Client({
    endpoint: c.endpoint,
    region: c.region,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function allKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
    for (const c of res.Contents ?? []) if (c.Key) keys.push(c.Key);
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function uploads(s3: S3Client, bucket: string): Promise<Array<{ Key: string; UploadId: string }>> {
  const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (res.Uploads ?? []).map((u) => ({ Key: u.Key ?? '', UploadId: u.UploadId ?? '' }));
}

/** Every object and in-progress multipart upload in the bucket, as store keys (root prefix stripped). */
export async function leftovers(s3: S3Client, bucket: string, rootPrefix?: string): Promise<string[]> {
  const strip = (k: string): string => (rootPrefix && k.startsWith(`${rootPrefix}/`) ? k.slice(rootPrefix.length + 1) : k);
  const objects = (await allKeys(s3, bucket)).map(strip);
  const mpus = (await uploads(s3, bucket)).map((u) => `multipart-upload:${strip(u.Key)}`);
  return [...objects, ...mpus].sort();
}

export async function dropBucket(s3: S3Client, bucket: string): Promise<void> {
  for (const u of await uploads(s3, bucket)) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
  }
  const keys = await allKeys(s3, bucket);
  for (let i = 0; i < keys.length; i += 1000) {
    const Objects = keys.slice(i, i + 1000).map((Key) => ({ Key }));
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects, Quiet: true } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}
