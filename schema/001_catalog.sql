-- 001_catalog: the catalog of update revisions, their files and relations, and the admin
-- state WSUS keeps in its database. Forward-only: never edit this file once applied; add
-- NNN_name.sql instead. Applied by wsusd at start and by `wsusctl db migrate`.

-- One global change number. Every change that a downstream must see takes a fresh value, and
-- anchors handed to downstream servers are built from it ("<seq>,<UTC time>").
CREATE SEQUENCE change_seq;

-- Admin settings that WSUS keeps in its database (upstream, proxy, products, schedule, ...)
-- and this server's identity (server_id) and secrets (cookie_key). Values are text; the
-- settings module knows each key's type and default.
CREATE TABLE setting (
    key         text PRIMARY KEY,
    value       text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per update revision: (update_id, revision_number) is the identity everywhere.
-- xml is the original document as received, byte for byte (UTF-8); xml_cab the original
-- XmlUpdateBlobCompressed cabinet when the upstream sent one (served back unchanged).
CREATE TABLE revision (
    id                    bigserial PRIMARY KEY,
    update_id             uuid NOT NULL,
    revision_number       integer NOT NULL,
    update_type           text NOT NULL,          -- Software | Driver | Category | Detectoid
    category_type         text,                   -- Company | ProductFamily | Product | UpdateClassification
    title                 text NOT NULL DEFAULT '',
    default_language      text,
    publication_state     text NOT NULL DEFAULT 'Published',
    creation_date         text,
    explicitly_deployable boolean NOT NULL DEFAULT false,
    is_leaf               boolean NOT NULL DEFAULT true,   -- has no bundled updates
    kb_article_id         text,
    security_bulletin_id  text,
    msrc_severity         text,
    handler               text,
    xml                   text NOT NULL,
    xml_cab               bytea,
    change_seq            bigint NOT NULL DEFAULT nextval('change_seq'),
    stored_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (update_id, revision_number)
);
CREATE INDEX revision_change_seq ON revision (change_seq);
CREATE INDEX revision_type ON revision (update_type);

-- Localized titles and descriptions, one row per language of the document.
CREATE TABLE revision_text (
    revision_id  bigint NOT NULL REFERENCES revision (id) ON DELETE CASCADE,
    language     text NOT NULL,
    title        text NOT NULL DEFAULT '',
    description  text,
    PRIMARY KEY (revision_id, language)
);

-- Prerequisites in conjunctive normal form: every clause must hold, one id per clause must
-- be present. A plain UpdateIdentity is a clause with one id. is_category marks the clauses
-- that state product / classification membership (and a category's parent).
CREATE TABLE revision_prerequisite (
    revision_id  bigint NOT NULL REFERENCES revision (id) ON DELETE CASCADE,
    clause       integer NOT NULL,
    update_id    uuid NOT NULL,
    is_category  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (revision_id, clause, update_id)
);
CREATE INDEX revision_prerequisite_target ON revision_prerequisite (update_id) WHERE is_category;

-- Bundled updates (with their revision), grouped in AtLeastOne clauses like prerequisites.
CREATE TABLE revision_bundle (
    revision_id             bigint NOT NULL REFERENCES revision (id) ON DELETE CASCADE,
    clause                  integer NOT NULL,
    member_update_id        uuid NOT NULL,
    member_revision_number  integer NOT NULL,
    PRIMARY KEY (revision_id, clause, member_update_id, member_revision_number)
);
CREATE INDEX revision_bundle_member ON revision_bundle (member_update_id, member_revision_number);

CREATE TABLE revision_supersedes (
    revision_id          bigint NOT NULL REFERENCES revision (id) ON DELETE CASCADE,
    superseded_update_id uuid NOT NULL,
    PRIMARY KEY (revision_id, superseded_update_id)
);

-- Content files, keyed by SHA-1 (the digest the protocol and the content URL use).
-- state: absent (known, not stored) | queued | present | failed | quarantined
CREATE TABLE file (
    sha1           bytea PRIMARY KEY CHECK (length(sha1) = 20),
    sha256         bytea CHECK (sha256 IS NULL OR length(sha256) = 32),
    size           bigint,
    file_name      text NOT NULL,
    mu_url         text,
    patching_type  text,
    modified       text,
    state          text NOT NULL DEFAULT 'absent',
    state_detail   text,
    stored_at      timestamptz,
    change_seq     bigint NOT NULL DEFAULT nextval('change_seq')
);
CREATE INDEX file_state ON file (state) WHERE state <> 'present';

CREATE TABLE revision_file (
    revision_id  bigint NOT NULL REFERENCES revision (id) ON DELETE CASCADE,
    sha1         bytea NOT NULL REFERENCES file (sha1),
    PRIMARY KEY (revision_id, sha1)
);
CREATE INDEX revision_file_sha1 ON revision_file (sha1);

-- Downstream servers that authenticated to us (DSS table of MS-WSUSSS 3.1.1).
CREATE TABLE downstream_server (
    account_guid      uuid PRIMARY KEY,
    account_name      text NOT NULL,
    protocol_version  text,
    first_contact     timestamptz NOT NULL DEFAULT now(),
    last_contact      timestamptz NOT NULL DEFAULT now(),
    last_sync         timestamptz
);

-- Computer target groups. The built-in ones carry the GUIDs every WSUS uses.
CREATE TABLE target_group (
    id          uuid PRIMARY KEY,
    parent_id   uuid,
    name        text NOT NULL,
    is_builtin  boolean NOT NULL DEFAULT false,
    change_seq  bigint NOT NULL DEFAULT nextval('change_seq')
);
INSERT INTO target_group (id, parent_id, name, is_builtin) VALUES
    ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', '00000000-0000-0000-0000-000000000000', 'All Computers', true),
    ('b73ca6ed-5727-47f3-84de-015e03f6a88a', 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'Unassigned Computers', true),
    ('d374f42a-9be2-4163-a0fa-3c86a401b7a7', '00000000-0000-0000-0000-000000000000', 'Downstream Servers', true);

-- Approvals (deployments). action: 0 Install, 1 Uninstall, 2 Scan (not approved), 3 Block.
-- A removed approval stays as dead = true so downstreams learn it (DeadDeployments).
CREATE TABLE deployment (
    deployment_guid    uuid PRIMARY KEY,
    update_id          uuid NOT NULL,
    revision_number    integer NOT NULL,
    target_group_id    uuid NOT NULL,
    action             smallint NOT NULL CHECK (action BETWEEN 0 AND 3),
    admin_name         text,
    deadline           timestamptz,
    is_assigned        boolean NOT NULL DEFAULT true,
    go_live_time       timestamptz NOT NULL DEFAULT now(),
    download_priority  smallint NOT NULL DEFAULT 1,
    dead               boolean NOT NULL DEFAULT false,
    inherited          boolean NOT NULL DEFAULT false,  -- copied from the upstream (replica)
    created_at         timestamptz NOT NULL DEFAULT now(),
    change_seq         bigint NOT NULL DEFAULT nextval('change_seq')
);
CREATE INDEX deployment_update ON deployment (update_id);
CREATE INDEX deployment_change_seq ON deployment (change_seq);

-- Declined (hidden) updates: travel downstream as HiddenUpdates.
CREATE TABLE declined_update (
    update_id    uuid PRIMARY KEY,
    admin_name   text,
    declined_at  timestamptz NOT NULL DEFAULT now(),
    change_seq   bigint NOT NULL DEFAULT nextval('change_seq')
);

CREATE TABLE accepted_eula (
    eula_id      uuid PRIMARY KEY,
    admin_name   text,
    accepted_at  timestamptz NOT NULL DEFAULT now(),
    change_seq   bigint NOT NULL DEFAULT nextval('change_seq')
);

-- Languages known to this server (as offered in GetConfigData.LanguageUpdateList).
CREATE TABLE language (
    lcid        integer PRIMARY KEY,
    short_name  text NOT NULL UNIQUE,
    long_name   text NOT NULL,
    enabled     boolean NOT NULL DEFAULT false
);

-- State of this server as a downstream of its upstream: anchors, cookies, upstream config.
-- Anchors are written in the same transaction as the data they cover.
CREATE TABLE upstream_state (
    key         text PRIMARY KEY,
    value       text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per synchronization (and per import), newest last.
CREATE TABLE sync_history (
    id                 bigserial PRIMARY KEY,
    kind               text NOT NULL DEFAULT 'sync',     -- sync | import
    trigger            text NOT NULL DEFAULT 'manual',   -- manual | schedule | retry
    started_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    result             text NOT NULL DEFAULT 'running',  -- running | succeeded | failed | cancelled
    phase              text,
    upstream           text,
    new_revisions      integer NOT NULL DEFAULT 0,
    updated_revisions  integer NOT NULL DEFAULT 0,
    categories         integer NOT NULL DEFAULT 0,
    files              integer NOT NULL DEFAULT 0,
    bytes              bigint NOT NULL DEFAULT 0,
    error              text,
    detail             jsonb
);
