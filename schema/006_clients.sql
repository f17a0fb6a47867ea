-- 007_clients: the Windows Update clients of this server (MS-WUSP): computers, their target
-- group membership, and the events they report. Owned by common/computer.c and
-- common/client_event.c. (Numbered 007 so a parallel 006 can merge first.)

CREATE TABLE computer (
    id               uuid PRIMARY KEY,            -- the client's SusClientId (clientID)
    name             text NOT NULL,               -- dnsName / DnsName
    address          text NOT NULL,               -- the peer address of its first contact
    os_version       text,                        -- major.minor.build.sp from RegisterComputer
    os_description   text,
    os_locale        text,
    architecture     text,
    manufacturer     text,
    model            text,
    client_version   text,                        -- Windows Update Agent version
    first_contact    timestamptz NOT NULL DEFAULT now(),
    last_contact     timestamptz NOT NULL DEFAULT now(),
    registered_at    timestamptz,                 -- last RegisterComputer
    last_sync        timestamptz,                 -- last SyncUpdates answered
    sync_anchor      bigint NOT NULL DEFAULT 0    -- deployment change_seq of that answer
);
CREATE INDEX computer_recent ON computer (address, first_contact);
CREATE INDEX computer_name ON computer (lower(name));

CREATE TABLE computer_group (
    computer_id  uuid NOT NULL REFERENCES computer (id) ON DELETE CASCADE,
    group_id     uuid NOT NULL REFERENCES target_group (id) ON DELETE CASCADE,
    PRIMARY KEY (computer_id, group_id)
);

CREATE TABLE client_event (
    id              bigserial PRIMARY KEY,
    computer_id     uuid NOT NULL REFERENCES computer (id) ON DELETE CASCADE,
    instance_id     uuid NOT NULL,               -- EventInstanceID
    event_id        integer NOT NULL,
    namespace_id    integer NOT NULL DEFAULT 1,
    source_id       integer NOT NULL DEFAULT 0,
    update_id       uuid,                        -- NULL for the all-zero id
    revision_number integer,
    hresult         integer NOT NULL DEFAULT 0,
    app_name        text,
    time_at_target  timestamptz,
    replacement     text,                        -- ReplacementStrings, one per line
    received_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (computer_id, instance_id)
);
CREATE INDEX client_event_update ON client_event (update_id, computer_id);

-- SyncUpdates asks "is this update a prerequisite of anything" (IsLeaf) for every revision it
-- sends.
CREATE INDEX revision_prerequisite_update ON revision_prerequisite (update_id);
