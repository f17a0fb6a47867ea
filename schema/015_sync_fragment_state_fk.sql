-- 015_sync_fragment_state_fk: the last per-row foreign-key check of an initial sync's revision
-- rows, revision_fragment_state -> revision, goes the way of schema 013 (docs/performance.md,
-- "Third round"): one RI query and one row lock per stored revision, re-checking a parent that
-- the same transaction had just inserted (fragment_store_add_new, called by catalog_store_tx).
-- The other writer, the checked JSON path of common/db/fragment_store.c (revisions stored by
-- earlier transactions: fragment_store_add, fragment_store_missing), now takes the lock the
-- constraint took itself: it inserts a state row only for a revision row it read FOR KEY SHARE
-- (a concurrent DELETE waits for it, or it sees the revision gone and skips it).
-- ON DELETE CASCADE is kept by the statement-level triggers of schema 013, which now also delete
-- the state rows of the deleted revisions (and through revision_fragments_delete their
-- fragments); TRUNCATE of revision empties them too.
ALTER TABLE revision_fragment_state DROP CONSTRAINT revision_fragment_state_revision_id_fkey;

CREATE OR REPLACE FUNCTION revision_children_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM revision_text WHERE revision_id IN (SELECT id FROM gone);
    DELETE FROM revision_prerequisite WHERE revision_id IN (SELECT id FROM gone);
    DELETE FROM revision_bundle WHERE revision_id IN (SELECT id FROM gone);
    DELETE FROM revision_supersedes WHERE revision_id IN (SELECT id FROM gone);
    DELETE FROM revision_file WHERE revision_id IN (SELECT id FROM gone);
    DELETE FROM revision_fragment_state WHERE revision_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION revision_children_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE revision_text, revision_prerequisite, revision_bundle, revision_supersedes,
        revision_file, revision_fragment_state;
    RETURN NULL;
END $$;
