import { registerErrorCode } from './errcode.js';

// OCI Distribution Specification v1.1 error codes (spec "Error Codes" table) with the statuses the spec
// and the reference implementation use.
export const BLOB_UNKNOWN = registerErrorCode({
  value: 'BLOB_UNKNOWN', message: 'blob unknown to registry', httpStatus: 404,
  description: 'The blob is not known to the registry in this repository.',
});
export const BLOB_UPLOAD_INVALID = registerErrorCode({
  value: 'BLOB_UPLOAD_INVALID', message: 'blob upload invalid', httpStatus: 400,
  description: 'The upload failed: bad Content-Range, a chunk out of order, or a digest/size mismatch at completion.',
});
export const BLOB_UPLOAD_UNKNOWN = registerErrorCode({
  value: 'BLOB_UPLOAD_UNKNOWN', message: 'blob upload unknown to registry', httpStatus: 404,
  description: 'The upload session was cancelled, completed, expired or never existed.',
});
export const DIGEST_INVALID = registerErrorCode({
  value: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content', httpStatus: 400,
  description: 'The digest is malformed, uses an unsupported algorithm, or does not match the content.',
});
export const MANIFEST_BLOB_UNKNOWN = registerErrorCode({
  value: 'MANIFEST_BLOB_UNKNOWN', message: 'manifest references a manifest or blob unknown to registry', httpStatus: 400,
  description: 'A blob or child manifest referenced by the manifest is not in the repository.',
});
export const MANIFEST_INVALID = registerErrorCode({
  value: 'MANIFEST_INVALID', message: 'manifest invalid', httpStatus: 400,
  description: 'The manifest failed validation: bad JSON, wrong schema, wrong media type, or too large.',
});
export const MANIFEST_UNKNOWN = registerErrorCode({
  value: 'MANIFEST_UNKNOWN', message: 'manifest unknown to registry', httpStatus: 404,
  description: 'No manifest with this tag or digest exists in the repository.',
});
export const NAME_INVALID = registerErrorCode({
  value: 'NAME_INVALID', message: 'invalid repository name', httpStatus: 400,
  description: 'The repository name does not match the distribution-spec name grammar.',
});
export const NAME_UNKNOWN = registerErrorCode({
  value: 'NAME_UNKNOWN', message: 'repository name not known to registry', httpStatus: 404,
  description: 'The repository does not exist.',
});
export const SIZE_INVALID = registerErrorCode({
  value: 'SIZE_INVALID', message: 'provided length did not match content length', httpStatus: 400,
  description: 'Content-Length or the declared size does not match the received content.',
});
export const UNAUTHORIZED = registerErrorCode({
  value: 'UNAUTHORIZED', message: 'authentication required', httpStatus: 401,
  description: 'The client must authenticate.',
});
export const DENIED = registerErrorCode({
  value: 'DENIED', message: 'requested access to the resource is denied', httpStatus: 403,
  description: 'The caller lacks permission for this operation.',
});
export const UNSUPPORTED = registerErrorCode({
  value: 'UNSUPPORTED', message: 'the operation is unsupported', httpStatus: 405,
  description: 'The method is not allowed for this route, or the operation is disabled (e.g. deletes). Distribution answers 405 with this code too.',
});
export const TOOMANYREQUESTS = registerErrorCode({
  value: 'TOOMANYREQUESTS', message: 'too many requests', httpStatus: 429,
  description: 'The client exceeded a rate limit.',
});

// Codes the spec does not name but every registry needs; same envelope.
export const RANGE_INVALID = registerErrorCode({
  value: 'RANGE_INVALID', message: 'requested range not satisfiable', httpStatus: 416,
  description: 'A chunk was out of order or overlapping, or a read Range lies outside the blob.',
});
/** 405s carry the spec's UNSUPPORTED code: the spec's list of codes is closed, and distribution does the same. */
export const METHOD_NOT_ALLOWED = UNSUPPORTED;
export const NOT_FOUND = registerErrorCode({
  value: 'NOT_FOUND', message: 'not found', httpStatus: 404,
  description: 'No route matches the request.',
});
export const TAG_INVALID = registerErrorCode({
  value: 'TAG_INVALID', message: 'manifest tag did not match URI', httpStatus: 400,
  description: 'The tag is malformed: it must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.',
});
export const PAGINATION_NUMBER_INVALID = registerErrorCode({
  value: 'PAGINATION_NUMBER_INVALID', message: 'invalid number of results requested', httpStatus: 400,
  description: 'The n parameter is not a non-negative integer.',
});
export const UNAVAILABLE = registerErrorCode({
  value: 'UNAVAILABLE', message: 'service unavailable', httpStatus: 503,
  description: 'A dependency (database, object store) is unavailable; retry later.',
});
export const UNKNOWN = registerErrorCode({
  value: 'UNKNOWN', message: 'unknown error', httpStatus: 500,
  description: 'An unexpected server error.',
});

// The REST API (/api/v1) uses the same registry of codes; these two are its own.
export const INVALID_REQUEST = registerErrorCode({
  value: 'INVALID_REQUEST', message: 'invalid request', httpStatus: 400,
  description: 'The request body or a parameter is malformed or names something that cannot be used here.',
});
export const CONFLICT = registerErrorCode({
  value: 'CONFLICT', message: 'conflict', httpStatus: 409,
  description: 'The name is already taken, or the change conflicts with the current state.',
});
