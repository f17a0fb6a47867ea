-- 003_change_horizon: make anchors safe against writers that commit late.
-- A row takes its change_seq when it is written, but becomes visible only when its transaction
-- commits. Without care, a downstream could be handed an anchor N while a transaction holding
-- change_seq N-1 is still open, and would never receive that row. So every statement that writes
-- a table whose rows carry change_seq takes a shared transaction-level advisory lock, and the
-- serve path reads the anchor horizon under the exclusive form of the same lock
-- (db_change_horizon() in common/db.c): it waits for open writers to commit, then reads the
-- sequence. Writers never wait for each other.
CREATE FUNCTION change_seq_writer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(8607352451284625267);
    RETURN NULL;
END
$$;

CREATE TRIGGER revision_change_seq_writer BEFORE INSERT OR UPDATE ON revision
    FOR EACH STATEMENT EXECUTE FUNCTION change_seq_writer();
CREATE TRIGGER file_change_seq_writer BEFORE INSERT OR UPDATE ON file
    FOR EACH STATEMENT EXECUTE FUNCTION change_seq_writer();
CREATE TRIGGER target_group_change_seq_writer BEFORE INSERT OR UPDATE ON target_group
    FOR EACH STATEMENT EXECUTE FUNCTION change_seq_writer();
CREATE TRIGGER deployment_change_seq_writer BEFORE INSERT OR UPDATE ON deployment
    FOR EACH STATEMENT EXECUTE FUNCTION change_seq_writer();
CREATE TRIGGER declined_update_change_seq_writer BEFORE INSERT OR UPDATE OR DELETE ON declined_update
    FOR EACH STATEMENT EXECUTE FUNCTION change_seq_writer();
CREATE TRIGGER accepted_eula_change_seq_writer BEFORE INSERT OR UPDATE ON accepted_eula
    FOR EACH STATEMENT EXECUTE FUNCTION change_seq_writer();
