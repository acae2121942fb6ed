-- Geo-replication bookkeeping. A placement records where its bytes came from and how long after the blob's first
-- commit they arrived (replication lag); failed copies are kept per (blob, region) until a copy succeeds.

ALTER TABLE blob_placements ADD COLUMN copied_from text;
ALTER TABLE blob_placements ADD COLUMN lag_ms bigint;
CREATE INDEX blob_placements_verified ON blob_placements (region, verified_at) WHERE lag_ms IS NOT NULL;

CREATE TABLE replication_failures (
  digest           text NOT NULL REFERENCES blobs (digest) ON DELETE CASCADE,
  region           text NOT NULL,
  attempts         integer NOT NULL DEFAULT 1,
  last_error       text NOT NULL,
  permanent        boolean NOT NULL DEFAULT false,
  first_failed_at  timestamptz NOT NULL DEFAULT now(),
  last_attempt_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (digest, region)
);
