-- The scanner, in Clair v4's shape: index once per layer (keyed by scanner and version, so a scanner upgrade
-- re-indexes and nothing else does), keep a coalesced index report per manifest, and match on read against the
-- current vulnerability data, so new data never forces a rescan.

CREATE TABLE scan_layer_results (
  layer_digest     text NOT NULL,
  scanner          text NOT NULL,
  scanner_version  text NOT NULL,
  -- Packages and distributions found; the files of interest present, whiteouts and opaque directories, which the
  -- coalescer needs to apply the layers in order.
  findings         jsonb NOT NULL,
  scanned_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (layer_digest, scanner, scanner_version)
);

CREATE TABLE index_reports (
  manifest_digest  text PRIMARY KEY,
  state            text NOT NULL CHECK (state IN ('queued', 'indexing', 'indexed', 'failed', 'unsupported')),
  reason           text,
  attempts         integer NOT NULL DEFAULT 0,
  -- Which scanners (name@version, sorted) produced the report; a different set marks it stale.
  scanner_set      text,
  report           jsonb,
  lease_until      timestamptz,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  indexed_at       timestamptz
);
CREATE INDEX index_reports_due ON index_reports (next_attempt_at) WHERE state IN ('queued', 'failed');

-- Reverse index of the reports: which manifests hold which package, to re-match only those after a feed update.
CREATE TABLE index_packages (
  manifest_digest  text NOT NULL REFERENCES index_reports (manifest_digest) ON DELETE CASCADE,
  format           text NOT NULL,
  name             text NOT NULL,
  PRIMARY KEY (manifest_digest, format, name)
);
CREATE INDEX index_packages_name ON index_packages (format, name);

-- One import of one feed. Re-importing the same data (same fingerprint) is a no-op.
CREATE TABLE vuln_updates (
  id               bigserial PRIMARY KEY,
  feed             text NOT NULL,
  fingerprint      text NOT NULL,
  source           text,
  vulnerabilities  integer NOT NULL,
  imported_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (feed, fingerprint)
);

CREATE TABLE vuln_feeds (
  feed            text PRIMARY KEY,
  current_update  bigint NOT NULL REFERENCES vuln_updates (id),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vulnerabilities (
  update_id     bigint NOT NULL REFERENCES vuln_updates (id) ON DELETE CASCADE,
  vuln_id       text NOT NULL,
  format        text NOT NULL,
  package_name  text NOT NULL,
  dist_id       text,
  dist_release  text,
  data          jsonb NOT NULL
);
CREATE INDEX vulnerabilities_lookup ON vulnerabilities (format, package_name, update_id);
CREATE INDEX vulnerabilities_update ON vulnerabilities (update_id);
CREATE INDEX vulnerabilities_id ON vulnerabilities (vuln_id);

-- What each manifest was last found vulnerable to, so a feed update can tell what is new (vulnerability_found).
CREATE TABLE vulnerability_findings (
  manifest_digest  text PRIMARY KEY REFERENCES index_reports (manifest_digest) ON DELETE CASCADE,
  keys             text[] NOT NULL,
  matched_at       timestamptz NOT NULL DEFAULT now()
);
