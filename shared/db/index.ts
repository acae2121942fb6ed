export * from './pool.js';
export * from './migrate.js';
export * as repositories from './repositories.js';
export * as blobs from './blobs.js';
export * as manifests from './manifests.js';
export * as tags from './tags.js';
export * as uploads from './uploads.js';
export * as placements from './placements.js';
export * as replication from './replication.js';
