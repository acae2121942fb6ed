-- Tenancy, as Quay models it. Users, organizations and robots share one name space: the first path segment of a
-- repository name is its owner (a user or an organization). A robot is named "<owner>+<short>".

CREATE TABLE accounts (
  id             bigserial PRIMARY KEY,
  name           text NOT NULL UNIQUE,
  kind           text NOT NULL CHECK (kind IN ('user', 'org', 'robot')),
  email          text,
  password_hash  text,
  superuser      boolean NOT NULL DEFAULT false,
  enabled        boolean NOT NULL DEFAULT true,
  -- Robots only: the user or organization that owns it, and its regenerable token (hashed; the lookup id finds it).
  owner_id       bigint REFERENCES accounts (id) ON DELETE CASCADE,
  token_lookup   text UNIQUE,
  token_hash     text,
  description    text NOT NULL DEFAULT '',
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'robot') = (owner_id IS NOT NULL)),
  CHECK (kind = 'user' OR NOT superuser)
);
CREATE INDEX accounts_owner ON accounts (owner_id) WHERE owner_id IS NOT NULL;

-- An organization's teams. The role applies to the whole organization: member (only what is granted to the team),
-- creator (may also create repositories), admin (administers the organization and every repository in it).
CREATE TABLE teams (
  id           bigserial PRIMARY KEY,
  org_id       bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  name         text NOT NULL,
  role         text NOT NULL CHECK (role IN ('member', 'creator', 'admin')),
  description  text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, name)
);

CREATE TABLE team_members (
  team_id     bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  added_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (team_id, account_id)
);
CREATE INDEX team_members_account ON team_members (account_id);

ALTER TABLE repositories
  ADD COLUMN visibility text NOT NULL DEFAULT 'private' CHECK (visibility IN ('public', 'private')),
  ADD COLUMN description text NOT NULL DEFAULT '',
  ADD COLUMN namespace text GENERATED ALWAYS AS (split_part(name, '/', 1)) STORED;
CREATE INDEX repositories_namespace ON repositories (namespace);

-- Grants on one repository to a user, a robot or a team.
CREATE TABLE repository_permissions (
  id             bigserial PRIMARY KEY,
  repository_id  bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  account_id     bigint REFERENCES accounts (id) ON DELETE CASCADE,
  team_id        bigint REFERENCES teams (id) ON DELETE CASCADE,
  role           text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
  CHECK ((account_id IS NULL) <> (team_id IS NULL))
);
CREATE UNIQUE INDEX repository_permissions_account ON repository_permissions (repository_id, account_id) WHERE account_id IS NOT NULL;
CREATE UNIQUE INDEX repository_permissions_team ON repository_permissions (repository_id, team_id) WHERE team_id IS NOT NULL;
CREATE INDEX repository_permissions_grantee ON repository_permissions (account_id);
CREATE INDEX repository_permissions_team_grantee ON repository_permissions (team_id);

-- Default permissions (Quay's "prototypes"): granted on each repository created in the organization, optionally
-- only when a given account creates it.
CREATE TABLE default_permissions (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id                 bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  activating_account_id  bigint REFERENCES accounts (id) ON DELETE CASCADE,
  account_id             bigint REFERENCES accounts (id) ON DELETE CASCADE,
  team_id                bigint REFERENCES teams (id) ON DELETE CASCADE,
  role                   text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
  created_at             timestamptz NOT NULL DEFAULT now(),
  CHECK ((account_id IS NULL) <> (team_id IS NULL))
);
CREATE INDEX default_permissions_org ON default_permissions (org_id);

-- A user's application tokens: used in place of the password by CLIs and CI; revocable one by one.
CREATE TABLE app_tokens (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  title         text NOT NULL,
  token_lookup  text NOT NULL UNIQUE,
  token_hash    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  expires_at    timestamptz
);
CREATE INDEX app_tokens_account ON app_tokens (account_id);

-- Public halves of the token signing keys. Each node signs with its own private key and publishes the public key
-- here, so any node verifies any node's tokens; a retired key keeps verifying until the tokens it signed expire.
CREATE TABLE signing_keys (
  kid         text PRIMARY KEY,
  public_jwk  jsonb NOT NULL,
  node        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz,
  expires_at  timestamptz
);

-- Failed logins per account and per client address, shared by every node so a cluster throttles as one.
CREATE TABLE login_throttle (
  key           text PRIMARY KEY,
  failures      integer NOT NULL DEFAULT 0,
  window_start  timestamptz NOT NULL DEFAULT now(),
  locked_until  timestamptz
);

-- Who did what, when, from where, on what.
CREATE TABLE audit_log (
  id              bigserial PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  kind            text NOT NULL,
  performer       text,
  performer_kind  text,
  namespace       text,
  repository      text,
  ip              text,
  metadata        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_namespace ON audit_log (namespace, at DESC, id DESC);
CREATE INDEX audit_log_repository ON audit_log (repository, at DESC, id DESC);
CREATE INDEX audit_log_performer ON audit_log (performer, at DESC, id DESC);
CREATE INDEX audit_log_at ON audit_log (at);

-- Webhook notifications on a repository or on every repository of a namespace.
CREATE TABLE notifications (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  namespace      text NOT NULL,
  repository_id  bigint REFERENCES repositories (id) ON DELETE CASCADE,
  event          text NOT NULL,
  method         text NOT NULL DEFAULT 'webhook' CHECK (method = 'webhook'),
  title          text NOT NULL DEFAULT '',
  url            text NOT NULL,
  -- The HMAC key: it must be usable to sign, so it is stored as given (never logged, never returned after creation).
  secret         text NOT NULL,
  event_config   jsonb NOT NULL DEFAULT '{}',
  enabled        boolean NOT NULL DEFAULT true,
  created_by     text,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_target ON notifications (namespace, event);

-- The outbox: one row per (notification, event), written with the change and delivered by the worker.
CREATE TABLE notification_deliveries (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  notification_id  uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  event_id         text NOT NULL,
  event            text NOT NULL,
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_status      integer,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  UNIQUE (notification_id, event_id)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_deliveries_history ON notification_deliveries (notification_id, created_at DESC);
