-- Registry core metadata. Object stores hold only bytes; everything with meaning lives here.

CREATE TABLE repositories (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Content-addressed and shared by every repository. last_seen_at is refreshed whenever a client is told the
-- blob exists (upload commit, mount, HEAD/GET), so the GC grace period counts from the last such answer.
CREATE TABLE blobs (
  digest        text PRIMARY KEY,
  size          bigint NOT NULL CHECK (size >= 0),
  media_type    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX blobs_last_seen ON blobs (last_seen_at);

-- Which repositories may serve a blob (pushed or mounted there).
CREATE TABLE repository_blobs (
  repository_id  bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  digest         text NOT NULL REFERENCES blobs (digest) ON DELETE CASCADE,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository_id, digest)
);
CREATE INDEX repository_blobs_digest ON repository_blobs (digest);

-- Where the bytes of a blob are: one row per (blob, region), written only after the bytes were verified there.
CREATE TABLE blob_placements (
  digest       text NOT NULL REFERENCES blobs (digest) ON DELETE CASCADE,
  region       text NOT NULL,
  storage_key  text NOT NULL,
  verified_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (digest, region)
);
CREATE INDEX blob_placements_region ON blob_placements (region);

CREATE TABLE manifests (
  repository_id   bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  digest          text NOT NULL,
  media_type      text NOT NULL,
  artifact_type   text,
  subject_digest  text,
  size            integer NOT NULL,
  content         bytea NOT NULL,
  annotations     jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository_id, digest)
);
CREATE INDEX manifests_subject ON manifests (repository_id, subject_digest) WHERE subject_digest IS NOT NULL;

-- Blobs (config, layers) and child manifests a manifest points at; GC marks from here.
CREATE TABLE manifest_references (
  repository_id    bigint NOT NULL,
  manifest_digest  text NOT NULL,
  ref_digest       text NOT NULL,
  ref_kind         text NOT NULL CHECK (ref_kind IN ('blob', 'manifest')),
  ref_size         bigint NOT NULL,
  ref_media_type   text NOT NULL,
  PRIMARY KEY (repository_id, manifest_digest, ref_kind, ref_digest),
  FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
CREATE INDEX manifest_references_ref ON manifest_references (ref_digest);

CREATE TABLE tags (
  repository_id    bigint NOT NULL,
  name             text NOT NULL,
  manifest_digest  text NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository_id, name),
  FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
CREATE INDEX tags_manifest ON tags (repository_id, manifest_digest);

-- Every tag movement, kept after the tag or manifest is gone (restore and audit build on it).
CREATE TABLE tag_history (
  id               bigserial PRIMARY KEY,
  repository_id    bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  tag              text NOT NULL,
  manifest_digest  text,
  previous_digest  text,
  action           text NOT NULL CHECK (action IN ('create', 'move', 'delete')),
  at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tag_history_repo_tag ON tag_history (repository_id, tag, at DESC);

-- Upload sessions: the offset and the driver's writer state, so any node of the region can continue one.
-- lease_until serialises chunk writers without holding a database connection for the length of a chunk.
CREATE TABLE uploads (
  id             uuid PRIMARY KEY,
  repository_id  bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  region         text NOT NULL,
  storage_key    text NOT NULL,
  size           bigint NOT NULL DEFAULT 0,
  writer_state   jsonb,
  lease_until    timestamptz,
  started_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX uploads_updated ON uploads (updated_at);
