/**
 * The scanner's domain types, shared by indexer plug-ins, feed parsers and matchers (Clair v4's shape: index once
 * per layer, match on read). Plain data: everything here is stored as JSON and compared in code.
 */

/** The package formats the indexer finds; each has its own version ordering (see versions/). */
export type PackageFormat = 'dpkg' | 'apk' | 'rpm' | 'pypi' | 'npm' | 'go' | 'maven' | 'gem';

/** An operating system, from os-release and friends. `id` is os-release ID (debian, alpine, rhel, mariner, ...). */
export interface Distribution {
  id: string;
  versionId: string;
  versionCodename?: string;
  prettyName?: string;
  cpe?: string;
}

export interface Package {
  name: string;
  version: string;
  format: PackageFormat;
  /** Distribution packages: the source package it was built from (Debian Source:, apk origin, rpm SOURCERPM name). */
  source?: { name: string; version?: string };
  arch?: string;
  /** rpm modularity stream (name:stream), when present. */
  module?: string;
  /** Where in the image it was found: the package database, or the file for language packages. */
  location: string;
  /** The layer that introduced this package version (set by the coalescer). */
  layer?: string;
  purl?: string;
}

/** A layer's findings from one scanner. */
export interface LayerFindings {
  packages: Package[];
  distributions: Distribution[];
}

/**
 * Normalised severities (Clair's): the source's own rating is kept beside it in `sourceSeverity`.
 */
export const SEVERITIES = ['Unknown', 'Negligible', 'Low', 'Medium', 'High', 'Critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * One affected range, OSV-style, in the package format's own version ordering: affected when
 * introduced <= v (absent introduced = from the beginning) and v < fixed (or v <= lastAffected); with neither
 * fixed nor lastAffected, every version from introduced on is affected (no fix yet).
 */
export interface AffectedRange {
  introduced?: string;
  fixed?: string;
  lastAffected?: string;
}

/**
 * A vulnerability as one feed states it for one package in one place. Distribution feeds name the package as the
 * distribution means it: `packageKind: 'source'` for Debian's tracker (source packages) and Alpine's secdb (origin
 * packages), 'binary' for OVAL rpm names. Language feeds (OSV) have no distribution.
 */
export interface Vulnerability {
  /** The advisory's own id (CVE-2023-1234, DSA-5000-1, RHSA-2020:0001, GHSA-..., PYSEC-...). */
  id: string;
  /** Every other id it is known by, CVE ids included. */
  aliases: string[];
  /** Which feed said so: debian-tracker, debian-dsa, alpine-secdb, rhel-oval, rhel-vex, mariner-oval, osv. */
  feed: string;
  /** The version ordering of `ranges`. */
  format: PackageFormat;
  /** Distribution feeds: which distribution release this applies to (id as in os-release; release = VERSION_ID or codename). */
  distribution?: { id: string; release: string };
  /**
   * `module`: rpm modularity stream (name:stream) the record applies to, when the feed scopes it to one (Red Hat OVAL
   * "Module nodejs:12 is enabled", CSAF `rpmmod`); absent = the non-modular package. Compare with Package.module.
   */
  package: { name: string; kind: 'source' | 'binary'; module?: string };
  ranges: AffectedRange[];
  severity: Severity;
  sourceSeverity: string;
  link: string;
  description: string;
  published?: string;
}

/** What a parser returns for one feed document or file. */
export interface ParsedFeed {
  /** A stable name for the feed (e.g. "alpine-secdb:v3.10/main", "debian-tracker", "osv:PyPI"). */
  name: string;
  vulnerabilities: Vulnerability[];
}
