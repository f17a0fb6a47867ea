-- 008_update_languages: the languages an update revision is specific to, from its document's
-- Properties/Language elements (the update XML schema; MS-WSUSSS 2.2.5.2: "all", the
-- NeutralLanguage value, marks a language-neutral update). An empty array: the revision is
-- language neutral (nearly every update, all categories and detectoids). Short names, lower
-- case, as the language table spells them. Written by common/catalog.c at ingest and import;
-- read by the upstream side's GetRevisionIdList Languages filter, the download selection and
-- the inactive approvals (common/catalog.c). Numbered 008 to avoid clashing with a parallel
-- 006/007; the lead renumbers.
ALTER TABLE revision ADD COLUMN languages text[] NOT NULL DEFAULT '{}';

-- Backfill from the stored documents (well-formed ones only: a document the parser took but
-- PostgreSQL cannot read stays neutral rather than failing the migration).
UPDATE revision r SET languages = l.langs
FROM (
    SELECT id, ARRAY(
        SELECT DISTINCT lower(btrim(x::text))
        FROM unnest(xpath('/upd:Update/upd:Properties/upd:Language/text()', xml::xml,
                          ARRAY[ARRAY['upd', 'http://schemas.microsoft.com/msus/2002/12/Update']]))
             AS x
        WHERE lower(btrim(x::text)) NOT IN ('', 'all', 'neutrallanguage')
        ORDER BY 1) AS langs
    FROM revision
    WHERE strpos(xml, 'Language>') > 0 AND xml_is_well_formed_document(xml)
) l
WHERE r.id = l.id AND cardinality(l.langs) > 0;

CREATE INDEX revision_languages_idx ON revision USING gin (languages)
    WHERE languages <> '{}';
