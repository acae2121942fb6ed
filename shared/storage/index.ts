export * from './driver.js';
export { withBase, normaliseError, DEFAULT_MAX_CONCURRENCY, type BaseOptions, type StorageLogger } from './base.js';
export { createDriver, isDriverName, DRIVER_NAMES, type DriverName } from './registry.js';
export type { DriverParams } from './params.js';
export { isValidKey, isValidPrefix, compareKeys, MAX_KEY_LENGTH } from './keys.js';
export { DEFAULT_READ_SMALL_MAX } from './streams.js';
export { blobKey, uploadPrefix, uploadDataKey } from './paths.js';
export { InMemoryBackend, InMemoryDriver } from './inmemory/driver.js';
export { FilesystemDriver } from './filesystem/driver.js';
// Types only: importing the S3 driver itself would load the AWS SDK; createDriver('s3', …) loads it on demand.
export type { S3Driver } from './s3/driver.js';
export type { S3Params } from './s3/params.js';
