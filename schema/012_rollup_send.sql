-- 012_rollup_send: what this server last reported about each computer to its upstream in the
-- reporting rollup (MS-WSUSSS 3.2.4.5, the DSS side; the Client Computers Table's
-- HasDetailsChanged, LastSentStatusRollupNumber and LastStatusRollupTime). Owned by
-- common/rollup_send.c. computer_id is an id of this server's computer table or of the
-- rollup_computer table (computers its own downstreams reported). A new upstream (another
-- RollupResetGuid) empties the table: everything is sent again.

CREATE TABLE rollup_sent (
    computer_id     text PRIMARY KEY,
    fingerprint     text NOT NULL,          -- md5 of the ComputerRollupInfo last sent
    details         text,                   -- md5 of its Details last sent; NULL: send them
    excluded        boolean NOT NULL DEFAULT false, -- the upstream answered Deleted
    sent_at         timestamptz NOT NULL DEFAULT now(),
    rollup_number   integer NOT NULL DEFAULT 0,     -- LastSentStatusRollupNumber
    status_time     timestamptz,                    -- LastStatusRollupTime; NULL: full rollup
    status_sent_at  timestamptz
);
