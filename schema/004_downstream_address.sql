-- 004_downstream_address: remember the address a downstream server called from, so that the
-- number of new, never-synchronized downstream ids one address may create per hour can be
-- bounded (GetAuthorizationCookie needs no authentication; see docs/security.md, admin).
ALTER TABLE downstream_server ADD COLUMN address text;
CREATE INDEX downstream_server_new ON downstream_server (address, first_contact)
    WHERE last_sync IS NULL;
