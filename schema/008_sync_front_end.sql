-- 008_sync_front_end: which wsusd ran a synchronization. Several wsusd may share one catalog
-- (front-ends behind a load balancer, docs/admin-guide.md); the sync lock lets one of them
-- synchronize at a time, and an admin who asks another one for "sync now" is told where the
-- running one is. The value is the front-end's [server] name (default "<host name>:<port of
-- [server] listen>"). NULL for imports and for rows written before this migration.
ALTER TABLE sync_history ADD COLUMN front_end text;
