-- 013_revision_children_fk: the per-row foreign-key checks of a revision's child rows were
-- ~9% of the downstream database's time in an initial sync (one RI query and one row lock per
-- child row, 8.5 per revision; docs/performance.md, "Where the time goes"), and they only
-- re-checked what the same transaction had just written:
-- * revision_text, revision_prerequisite, revision_bundle, revision_supersedes and
--   revision_file (revision_id) are written only by catalog_store_tx (common/db/catalog.c),
--   which takes each revision_id from the RETURNING of the INSERT INTO revision of the same
--   transaction: the parent row exists, no other transaction can see it, so none can delete
--   it before the commit;
-- * revision_fragment is written only by common/db/fragment_store.c, always in the
--   transaction that inserts its revision_fragment_state row (the COPY path right after the
--   state COPY, the JSON path joined to the RETURNING of the state insert).
-- What the constraints did besides, ON DELETE CASCADE (an admin's or a test's DELETE FROM
-- revision), is kept by statement-level triggers that delete the child rows of the parents a
-- statement deleted; TRUNCATE of a parent empties its children too. Kept as constraints:
-- revision_file.sha1 -> file (a file row may be deleted elsewhere) and
-- revision_fragment_state -> revision (the fragment pass also derives revisions stored earlier).
ALTER TABLE revision_text DROP CONSTRAINT revision_text_revision_id_fkey;
ALTER TABLE revision_prerequisite DROP CONSTRAINT revision_prerequisite_revision_id_fkey;
ALTER TABLE revision_bundle DROP CONSTRAINT revision_bundle_revision_id_fkey;
ALTER TABLE revision_supersedes DROP CONSTRAINT revision_supersedes_revision_id_fkey;
ALTER TABLE revision_file DROP CONSTRAINT revision_file_revision_id_fkey;
ALTER TABLE revision_fragment DROP CONSTRAINT revision_fragment_revision_id_fkey;

CREATE FUNCTION revision_children_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM revision_text WHERE revision_id IN (SELECT id FROM gone);
    DELETE FROM revision_prerequisite WHERE revision_id IN (SELECT id FROM gone);
    DELETE FROM revision_bundle WHERE revision_id IN (SELECT id FROM gone);
    DELETE FROM revision_supersedes WHERE revision_id IN (SELECT id FROM gone);
    DELETE FROM revision_file WHERE revision_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER revision_children_delete AFTER DELETE ON revision
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION revision_children_delete();

CREATE FUNCTION revision_children_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE revision_text, revision_prerequisite, revision_bundle, revision_supersedes,
        revision_file;
    RETURN NULL;
END $$;
CREATE TRIGGER revision_children_truncate AFTER TRUNCATE ON revision
    FOR EACH STATEMENT EXECUTE FUNCTION revision_children_truncate();

CREATE FUNCTION revision_fragments_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM revision_fragment WHERE revision_id IN (SELECT revision_id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER revision_fragments_delete AFTER DELETE ON revision_fragment_state
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION revision_fragments_delete();

CREATE FUNCTION revision_fragments_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE revision_fragment;
    RETURN NULL;
END $$;
CREATE TRIGGER revision_fragments_truncate AFTER TRUNCATE ON revision_fragment_state
    FOR EACH STATEMENT EXECUTE FUNCTION revision_fragments_truncate();
