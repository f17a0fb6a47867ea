-- 011_lz4_documents: store the large texts (update documents and their client fragments)
-- compressed with lz4 instead of PostgreSQL's default pglz. pglz compression was the largest
-- single cost of storing a synchronized revision (docs/performance.md, "Where the time goes");
-- lz4 compresses several times faster and decompresses faster for the serving paths. Only the
-- method of new values changes: stored values keep theirs and stay readable (PostgreSQL 14+
-- reads both). Needs a server built with lz4 (Debian's is).
ALTER TABLE revision ALTER COLUMN xml SET COMPRESSION lz4;
ALTER TABLE revision_fragment ALTER COLUMN xml SET COMPRESSION lz4;
