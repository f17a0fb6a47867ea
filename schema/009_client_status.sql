-- 009_client_status: what each Windows computer itself says about its updates, from its status
-- events (ReportEventBatch EventID 156 AGENT_STATUS_30; MS-WUSP 2.2.2.3.1, MiscData tags
-- U InstallableUpdateIDs, V InstalledUpdateIDs, W InstalledPendingRebootIDs, g FailedUpdateIDs,
-- h DownloadedUpdateIDs). A status event replaces the computer's whole list: an approved update
-- it does not list is not applicable to it. Written and read only by common/client_event.c
-- (client_status_store) and common/client_report.c (the compliance report). Bounded per
-- computer (CLIENT_STATUS_MAX_IDS rows).

-- The computer's last status event (its absence: the computer never sent one, and the report
-- infers "needed" from its approvals and events).
CREATE TABLE computer_status (
    computer_id  uuid PRIMARY KEY REFERENCES computer (id) ON DELETE CASCADE,
    reported_at  timestamptz NOT NULL DEFAULT now(),
    instance_id  uuid NOT NULL                   -- EventInstanceID of that status event
);

CREATE TABLE computer_update_status (
    computer_id  uuid NOT NULL REFERENCES computer_status (computer_id) ON DELETE CASCADE,
    update_id    uuid NOT NULL,
    state        text NOT NULL CHECK (state IN ('needed', 'downloaded', 'failed', 'installed',
                                                 'pending_reboot')),
    PRIMARY KEY (computer_id, update_id)
);
CREATE INDEX computer_update_status_update ON computer_update_status (update_id);
