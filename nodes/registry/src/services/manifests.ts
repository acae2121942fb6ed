import type { Deps } from '../deps.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import {
  DIGEST_INVALID, MANIFEST_BLOB_UNKNOWN, MANIFEST_INVALID, MANIFEST_UNKNOWN, NAME_UNKNOWN, TAG_INVALID,
} from '../../../../shared/errors/codes.js';
import { digestOf, parseDigest, type Digest } from '../../../../shared/oci/digest.js';
import { isTag } from '../../../../shared/oci/reference.js';
import { ManifestValidationError, parseManifest, type ParsedManifest } from '../../../../shared/oci/manifest.js';
import { OCI_INDEX } from '../../../../shared/oci/media-types.js';
import { withTx } from '../../../../shared/db/pool.js';
import * as reposDb from '../../../../shared/db/repositories.js';
import * as blobsDb from '../../../../shared/db/blobs.js';
import * as manifestsDb from '../../../../shared/db/manifests.js';
import * as tagsDb from '../../../../shared/db/tags.js';
import { repositoryForPush, type Who } from './activity.js';

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

export function parseReference(ref: string): Reference {
  if (ref.includes(':')) {
    try {
      return { kind: 'digest', digest: parseDigest(ref).digest };
    } catch (e) {
      throw new WharfError(DIGEST_INVALID, { message: (e as Error).message });
    }
  }
  if (!isTag(ref)) throw new WharfError(TAG_INVALID, { detail: { tag: ref.slice(0, 200) } });
  return { kind: 'tag', tag: ref };
}

// Layers that by definition are not pushed to the registry (Windows base layers and the like).
const NON_DISTRIBUTABLE = /(?:\.foreign\.|\.nondistributable\.)/;

export interface PushedManifest {
  digest: Digest;
  subject?: Digest;
}

export async function putManifest(
  deps: Deps, repoName: string, ref: Reference, body: Buffer, contentType: string | undefined,
  ctx: { actor: string; requestId: string; who: Who },
): Promise<PushedManifest> {
  let parsed: ParsedManifest;
  try {
    parsed = parseManifest(body, contentType);
  } catch (e) {
    if (e instanceof ManifestValidationError) throw new WharfError(MANIFEST_INVALID, { message: e.message });
    throw e;
  }
  const digest = ref.kind === 'digest' ? digestOf(body, parseDigest(ref.digest).algorithm) : digestOf(body);
  if (ref.kind === 'digest' && digest !== ref.digest) {
    throw new WharfError(DIGEST_INVALID, { message: 'manifest digest does not match the reference', detail: { expected: ref.digest, actual: digest } });
  }
  const blobRefs = parsed.blobs.filter((d) => !NON_DISTRIBUTABLE.test(d.mediaType));
  const missingOf = (linked: Set<string>, children: Set<string>) => [
    ...blobRefs.filter((d) => !linked.has(d.digest)).map((d) => ({ digest: d.digest, kind: 'blob' })),
    ...parsed.manifests.filter((d) => !children.has(d.digest)).map((d) => ({ digest: d.digest, kind: 'manifest' })),
  ];
  // A repository that does not exist holds nothing the manifest could reference: refuse without creating it.
  const existing = await reposDb.findRepository(deps.db, repoName);
  if (!existing) throwMissing(missingOf(new Set(), new Set()));
  const repo = existing ?? (await repositoryForPush(deps, repoName, ctx.who));
  await withTx(deps.db, async (tx) => {
    // FOR SHARE on the referenced rows: a concurrent GC or manifest delete waits for this push to commit.
    const linked = await blobsDb.linkedDigestsForShare(tx, repo.id, [...new Set(blobRefs.map((d) => d.digest))]);
    const children = await manifestsDb.existingManifestsForShare(tx, repo.id, [...new Set(parsed.manifests.map((d) => d.digest))]);
    throwMissing(missingOf(linked, children));
    await manifestsDb.putManifest(tx, repo.id, {
      digest, mediaType: parsed.mediaType, artifactType: parsed.artifactType, subjectDigest: parsed.subject?.digest,
      content: body, annotations: parsed.annotations,
      references: [
        ...parsed.blobs.map((d) => ({ digest: d.digest, kind: 'blob' as const, size: d.size, mediaType: d.mediaType })),
        ...parsed.manifests.map((d) => ({ digest: d.digest, kind: 'manifest' as const, size: d.size, mediaType: d.mediaType })),
      ],
    });
    if (ref.kind === 'tag') await tagsDb.setTag(tx, repo.id, ref.tag, digest);
  });
  await deps.events.manifestPushed({
    repository: repoName, digest, mediaType: parsed.mediaType, size: body.length,
    tag: ref.kind === 'tag' ? ref.tag : undefined, artifactType: parsed.artifactType, subject: parsed.subject,
    references: [...parsed.blobs, ...parsed.manifests].map((d) => ({ digest: d.digest, size: d.size, mediaType: d.mediaType })),
    actor: ctx.actor, requestId: ctx.requestId,
  });
  return parsed.subject ? { digest, subject: parsed.subject.digest } : { digest };
}

function throwMissing(missing: { digest: string; kind: string }[]): void {
  if (missing.length === 0) return;
  throw new WharfError(MANIFEST_BLOB_UNKNOWN, {
    message: `manifest references ${missing.length} unknown ${missing.length === 1 ? 'object' : 'objects'}, first ${missing[0]!.digest}`,
    detail: { missing },
  });
}

export async function getManifest(
  deps: Deps, repoName: string, ref: Reference, withContent: boolean,
): Promise<manifestsDb.ManifestRow & { content?: Buffer }> {
  const row = ref.kind === 'tag'
    ? await manifestsDb.getManifestByTag(deps.db, repoName, ref.tag, withContent)
    : await manifestsDb.getManifestByName(deps.db, repoName, ref.digest, withContent);
  if (!row) {
    throw new WharfError(MANIFEST_UNKNOWN, { detail: ref.kind === 'tag' ? { tag: ref.tag } : { digest: ref.digest } });
  }
  return row;
}

/** DELETE by tag removes the tag; by digest removes the manifest and every tag pointing at it. */
export async function deleteManifest(deps: Deps, repoName: string, ref: Reference): Promise<{ digest: string; tags: string[] }> {
  const repo = await reposDb.findRepository(deps.db, repoName);
  if (!repo) throw new WharfError(MANIFEST_UNKNOWN, { detail: { reference: ref.kind === 'tag' ? ref.tag : ref.digest } });
  if (ref.kind === 'tag') {
    const digest = await tagsDb.deleteTag(deps.db, repo.id, ref.tag);
    if (!digest) throw new WharfError(MANIFEST_UNKNOWN, { detail: { tag: ref.tag } });
    return { digest, tags: [ref.tag] };
  }
  const tags = await withTx(deps.db, async (tx) => {
    const removedTags = await tagsDb.deleteTagsOf(tx, repo.id, ref.digest);
    if (!(await manifestsDb.deleteManifest(tx, repo.id, ref.digest))) throw new WharfError(MANIFEST_UNKNOWN, { detail: { digest: ref.digest } });
    return removedTags;
  });
  await deps.events.manifestDeleted({ repository: repoName, digest: ref.digest, tags });
  return { digest: ref.digest, tags };
}

/** The referrers API answer: an OCI index of the manifests whose subject is `digest`. */
export async function referrers(
  deps: Deps, repoName: string, digest: Digest, artifactType: string | undefined,
): Promise<{ schemaVersion: 2; mediaType: string; manifests: object[] }> {
  const repo = await reposDb.findRepository(deps.db, repoName);
  const rows = repo ? await manifestsDb.listReferrers(deps.db, repo.id, digest, artifactType) : [];
  return {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: rows.map((m) => ({
      mediaType: m.mediaType, digest: m.digest, size: m.size,
      ...(m.artifactType ? { artifactType: m.artifactType } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
    })),
  };
}

export async function listTags(
  deps: Deps, repoName: string, opts: { limit: number; last?: string },
): Promise<string[]> {
  const repo = await reposDb.findRepository(deps.db, repoName);
  if (!repo) throw new WharfError(NAME_UNKNOWN, { detail: { name: repoName } });
  return tagsDb.listTags(deps.db, repo.id, opts);
}
