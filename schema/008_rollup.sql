-- 008_rollup: what downstream servers report upward (MS-WSUSSS 3.1.4.14-3.1.4.17, the
-- Reporting web service): the servers below this one with their summaries and client install
-- activity, the computers of the whole hierarchy and their per-update status. Owned by common/rollup.c. reporter_id is the
-- direct downstream (its cookie's account GUID) whose rollup brought the row: a downstream only
-- ever writes rows of its own branch.

CREATE TABLE rollup_server (
    server_id    uuid PRIMARY KEY,         -- ServerId
    parent_id    uuid NOT NULL,            -- ParentServerId (this server's id for a direct one)
    reporter_id  uuid NOT NULL,            -- the direct downstream that reported it
    name         text NOT NULL,            -- FullDomainName
    version      text,
    is_replica   boolean NOT NULL,
    last_sync    timestamptz,              -- NULL: never (1753-01-01 on the wire)
    last_rollup  timestamptz,
    summary      integer[] NOT NULL,       -- DownstreamServerRollupServerSummary, spec order
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rollup_server_reporter ON rollup_server (reporter_id);
CREATE INDEX rollup_server_name ON rollup_server (lower(name));

CREATE TABLE rollup_computer (
    computer_id      text PRIMARY KEY,     -- ComputerId
    server_id        uuid NOT NULL,        -- ParentServerId: the server it gets updates from
    reporter_id      uuid NOT NULL,
    name             text,                 -- Details: FullDomainName ...
    address          text,
    os_version       text,                 -- major.minor.build.spmajor.spminor
    os_description   text,
    os_locale        text,
    architecture     text,
    manufacturer     text,
    model            text,
    client_version   text,
    last_sync        timestamptz,
    last_sync_result smallint NOT NULL DEFAULT 0,
    last_reboot      timestamptz,
    last_status      timestamptz,
    last_inventory   timestamptz,
    rollup_number    integer,              -- LastReceivedStatusRollupNumber (NULL: none yet)
    effective_detection timestamptz,
    status_count     integer NOT NULL DEFAULT 0,   -- rows in rollup_status (per-branch bound)
    received_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rollup_computer_reporter ON rollup_computer (reporter_id);
CREATE INDEX rollup_computer_server ON rollup_computer (server_id);

CREATE TABLE rollup_status (
    computer_id  text NOT NULL REFERENCES rollup_computer (computer_id) ON DELETE CASCADE,
    update_id    uuid NOT NULL,
    state        smallint NOT NULL,        -- SummarizationState 0..6
    last_change  timestamptz,
    PRIMARY KEY (computer_id, update_id)
);
CREATE INDEX rollup_status_update ON rollup_status (update_id);

-- The client computer activity summaries (3.1.4.14): install successes and failures per server,
-- update and OS group, summed over the rollups (each rollup sends what happened since the last).
CREATE TABLE rollup_activity (
    server_id  uuid NOT NULL,                 -- a rollup_server (moved with it on a rebuild)
    reporter_id uuid NOT NULL,
    update_id  uuid NOT NULL,
    os         text NOT NULL,                 -- "major.minor.build.spmajor.spminor locale arch"
    installs   bigint NOT NULL DEFAULT 0,
    failures   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (server_id, update_id, os)
);
CREATE INDEX rollup_activity_reporter ON rollup_activity (reporter_id);

-- A downstream's xsd:dateTime as timestamptz (UTC when it has no zone), moved by skew seconds;
-- empty or before 1900 (1753-01-01 is the spec's "never"): NULL.
CREATE FUNCTION rollup_ts(t text, skew double precision) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v timestamptz;
BEGIN
    IF t IS NULL OR t = '' THEN
        RETURN NULL;
    END IF;
    IF t !~ '(Z|[+-][0-9][0-9]:[0-9][0-9])$' THEN
        t := t || 'Z';
    END IF;
    v := t::timestamptz;
    IF v < '1900-01-01T00:00:00Z' THEN
        RETURN NULL;
    END IF;
    RETURN v + skew * interval '1 second';
END
$$;

-- The clock difference to correct a request's time stamps by (MS-WSUSSS <50>: Windows adds it
-- when it passes one minute), from the request's clientTime.
CREATE FUNCTION rollup_skew(client_time text) RETURNS double precision
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN abs(d) > 60 THEN d ELSE 0 END
    FROM (SELECT coalesce(extract(epoch FROM now() - rollup_ts(client_time, 0)), 0) AS d) x
$$;
