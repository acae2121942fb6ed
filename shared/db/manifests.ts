import type { Queryable } from './pool.js';

export interface ManifestRow {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subjectDigest: string | null;
  size: number;
  annotations: Record<string, string> | null;
}

export interface ManifestReference {
  digest: string;
  kind: 'blob' | 'manifest';
  size: number;
  mediaType: string;
}

export interface NewManifest {
  digest: string;
  mediaType: string;
  artifactType?: string | undefined;
  subjectDigest?: string | undefined;
  content: Uint8Array;
  annotations?: Record<string, string> | undefined;
  references: ManifestReference[];
}

const COLUMNS = `digest, media_type AS "mediaType", artifact_type AS "artifactType", subject_digest AS "subjectDigest",
  size, annotations`;
/** The same columns for queries that join manifests as `m`. */
const M_COLUMNS = `m.digest, m.media_type AS "mediaType", m.artifact_type AS "artifactType", m.subject_digest AS "subjectDigest",
  m.size, m.annotations`;

/** Stores the manifest and its references; pushing identical bytes again is a no-op. */
export async function putManifest(db: Queryable, repositoryId: number, m: NewManifest): Promise<void> {
  const r = await db.query(
    `INSERT INTO manifests (repository_id, digest, media_type, artifact_type, subject_digest, size, content, annotations)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (repository_id, digest) DO NOTHING`,
    [repositoryId, m.digest, m.mediaType, m.artifactType ?? null, m.subjectDigest ?? null, m.content.length,
      Buffer.from(m.content.buffer, m.content.byteOffset, m.content.byteLength), m.annotations ?? null],
  );
  if ((r.rowCount ?? 0) === 0 || m.references.length === 0) return;
  await db.query(
    `INSERT INTO manifest_references (repository_id, manifest_digest, ref_digest, ref_kind, ref_size, ref_media_type)
     SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[])
     ON CONFLICT DO NOTHING`,
    [repositoryId, m.digest, m.references.map((x) => x.digest), m.references.map((x) => x.kind),
      m.references.map((x) => x.size), m.references.map((x) => x.mediaType)],
  );
}

export async function getManifest(
  db: Queryable, repositoryId: number, digest: string,
): Promise<(ManifestRow & { content: Buffer }) | undefined> {
  const r = await db.query<ManifestRow & { content: Buffer }>(
    `SELECT ${COLUMNS}, content FROM manifests WHERE repository_id = $1 AND digest = $2`,
    [repositoryId, digest],
  );
  return r.rows[0];
}

export async function getManifestMeta(db: Queryable, repositoryId: number, digest: string): Promise<ManifestRow | undefined> {
  const r = await db.query<ManifestRow>(`SELECT ${COLUMNS} FROM manifests WHERE repository_id = $1 AND digest = $2`, [repositoryId, digest]);
  return r.rows[0];
}

/** Which of `digests` are manifests of the repository; locked so a concurrent delete cannot orphan an index. */
export async function existingManifestsForShare(db: Queryable, repositoryId: number, digests: string[]): Promise<Set<string>> {
  if (digests.length === 0) return new Set();
  const r = await db.query<{ digest: string }>(
    'SELECT digest FROM manifests WHERE repository_id = $1 AND digest = ANY($2::text[]) FOR SHARE',
    [repositoryId, digests],
  );
  return new Set(r.rows.map((x) => x.digest));
}

export async function deleteManifest(db: Queryable, repositoryId: number, digest: string): Promise<boolean> {
  const r = await db.query('DELETE FROM manifests WHERE repository_id = $1 AND digest = $2', [repositoryId, digest]);
  return (r.rowCount ?? 0) > 0;
}

export async function referencesOf(db: Queryable, repositoryId: number, digest: string): Promise<ManifestReference[]> {
  const r = await db.query<ManifestReference>(
    `SELECT ref_digest AS digest, ref_kind AS kind, ref_size AS size, ref_media_type AS "mediaType"
     FROM manifest_references WHERE repository_id = $1 AND manifest_digest = $2 ORDER BY ref_kind, ref_digest`,
    [repositoryId, digest],
  );
  return r.rows;
}

/** Manifests whose subject is `subject`, optionally filtered by artifact type, in digest order. */
export async function listReferrers(
  db: Queryable, repositoryId: number, subject: string, artifactType?: string,
): Promise<ManifestRow[]> {
  const r = await db.query<ManifestRow>(
    `SELECT ${COLUMNS} FROM manifests
     WHERE repository_id = $1 AND subject_digest = $2 AND ($3::text IS NULL OR artifact_type = $3)
     ORDER BY created_at, digest`,
    [repositoryId, subject, artifactType ?? null],
  );
  return r.rows;
}

/** Tag → manifest in one round trip (the hottest read path). */
export async function getManifestByTag(
  db: Queryable, repositoryName: string, tag: string, withContent: boolean,
): Promise<(ManifestRow & { content?: Buffer }) | undefined> {
  // Named (prepared once per connection): the hottest query skips parsing and planning.
  const r = await db.query<ManifestRow & { content?: Buffer }>({
    name: withContent ? 'manifest-by-tag' : 'manifest-meta-by-tag',
    text: `SELECT ${M_COLUMNS}${withContent ? ', m.content' : ''}
     FROM repositories r JOIN tags t ON t.repository_id = r.id
     JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
     WHERE r.name = $1 AND t.name = $2`,
    values: [repositoryName, tag],
  });
  return r.rows[0];
}

/** Digest → manifest by repository name in one round trip. */
export async function getManifestByName(
  db: Queryable, repositoryName: string, digest: string, withContent: boolean,
): Promise<(ManifestRow & { content?: Buffer }) | undefined> {
  const r = await db.query<ManifestRow & { content?: Buffer }>({
    name: withContent ? 'manifest-by-digest' : 'manifest-meta-by-digest',
    text: `SELECT ${M_COLUMNS}${withContent ? ', m.content' : ''}
     FROM repositories r JOIN manifests m ON m.repository_id = r.id
     WHERE r.name = $1 AND m.digest = $2`,
    values: [repositoryName, digest],
  });
  return r.rows[0];
}
