-- 006_fragments: the MS-WUSP fragments of every revision (MS-WUSP 3.1.1.1, Metadata Table):
-- Core (SyncUpdates), Extended and LocalizedProperties per language (GetExtendedUpdateInfo),
-- derived once from revision.xml by common/fragment.c and kept, so the client web services
-- send stored bytes. Written and read only by common/fragment_store.c. Numbered 006 so that it
-- never clashes with a 005 written at the same time.

-- One row per revision whose fragments were derived, or could not be (error says why; such a
-- revision is not retried: delete its row to derive again). The row is the "computed once" mark.
CREATE TABLE revision_fragment_state (
    revision_id  bigint PRIMARY KEY REFERENCES revision (id) ON DELETE CASCADE,
    derived_at   timestamptz NOT NULL DEFAULT now(),
    error        text
);

-- The fragments, as the real server writes them (not well-formed XML on their own).
-- language is '' for core and extended, the document's Language (lower case) for localized.
CREATE TABLE revision_fragment (
    revision_id  bigint NOT NULL REFERENCES revision_fragment_state (revision_id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('core', 'extended', 'localized')),
    language     text NOT NULL DEFAULT '' CHECK ((kind = 'localized') = (language <> '')),
    xml          text NOT NULL,
    PRIMARY KEY (revision_id, kind, language)
);
