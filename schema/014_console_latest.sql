-- 014_console_latest: the console's update list must answer a page fast on a catalog of
-- 100,000+ revisions. It used to pick every update's latest revision with DISTINCT ON over all
-- revisions (about 1.1 s at 144k revisions) and to test "superseded" by a scan of
-- revision_supersedes per update (no index on superseded_update_id).
-- * revision_latest: the latest revision (highest revision_number) of every update id in
--   revision, one row per update, with the columns the list filters and sorts on copied from
--   it: the list reads this narrow table instead of the revision heap (whose rows carry the
--   XML). Kept by statement-level triggers on revision, so no writer
--   has to know of it: an INSERT (catalog_store_tx inserts a whole batch in one statement)
--   costs one more statement per batch; a DELETE recomputes the updates it touched; TRUNCATE
--   empties it; an UPDATE (no writer updates revision rows today; an admin or a test may)
--   copies the columns again. A revision's update_id and revision_number never change once
--   written (they are its identity). Read by common/db/update_query.c.
-- * revision_supersedes_target: "is this update superseded" by index.
CREATE TABLE revision_latest (
    update_id              uuid PRIMARY KEY,
    revision_id            bigint NOT NULL UNIQUE,
    revision_number        integer NOT NULL,
    update_type            text NOT NULL,
    category_type          text,
    title                  text NOT NULL,
    kb_article_id          text,
    creation_date          text,
    explicitly_deployable  boolean NOT NULL
);
INSERT INTO revision_latest
    SELECT DISTINCT ON (update_id) update_id, id, revision_number, update_type, category_type,
        title, kb_article_id, creation_date, explicitly_deployable FROM revision
    ORDER BY update_id, revision_number DESC;

CREATE FUNCTION revision_latest_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO revision_latest AS l
        SELECT DISTINCT ON (update_id) update_id, id, revision_number, update_type,
            category_type, title, kb_article_id, creation_date, explicitly_deployable FROM added
        ORDER BY update_id, revision_number DESC
        ON CONFLICT (update_id) DO UPDATE
        SET revision_id = EXCLUDED.revision_id, revision_number = EXCLUDED.revision_number,
            update_type = EXCLUDED.update_type, category_type = EXCLUDED.category_type,
            title = EXCLUDED.title, kb_article_id = EXCLUDED.kb_article_id,
            creation_date = EXCLUDED.creation_date,
            explicitly_deployable = EXCLUDED.explicitly_deployable
        WHERE EXCLUDED.revision_number > l.revision_number;
    RETURN NULL;
END $$;
CREATE TRIGGER revision_latest_insert AFTER INSERT ON revision
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION revision_latest_insert();

CREATE FUNCTION revision_latest_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM revision_latest WHERE revision_id IN (SELECT id FROM gone);
    INSERT INTO revision_latest
        SELECT DISTINCT ON (r.update_id) r.update_id, r.id, r.revision_number, r.update_type,
            r.category_type, r.title, r.kb_article_id, r.creation_date, r.explicitly_deployable
        FROM revision r
        WHERE r.update_id IN (SELECT update_id FROM gone)
        AND NOT EXISTS (SELECT 1 FROM revision_latest l WHERE l.update_id = r.update_id)
        ORDER BY r.update_id, r.revision_number DESC;
    RETURN NULL;
END $$;
CREATE TRIGGER revision_latest_delete AFTER DELETE ON revision
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION revision_latest_delete();

CREATE FUNCTION revision_latest_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE revision_latest l SET update_type = n.update_type, category_type = n.category_type,
        title = n.title, kb_article_id = n.kb_article_id, creation_date = n.creation_date,
        explicitly_deployable = n.explicitly_deployable
    FROM changed n WHERE l.revision_id = n.id;
    RETURN NULL;
END $$;
CREATE TRIGGER revision_latest_update AFTER UPDATE ON revision
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION revision_latest_update();

CREATE FUNCTION revision_latest_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE revision_latest;
    RETURN NULL;
END $$;
CREATE TRIGGER revision_latest_truncate AFTER TRUNCATE ON revision
    FOR EACH STATEMENT EXECUTE FUNCTION revision_latest_truncate();

CREATE INDEX revision_supersedes_target ON revision_supersedes (superseded_update_id);
