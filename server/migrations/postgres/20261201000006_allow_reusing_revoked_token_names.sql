-- A name identifies one live token: a revoked token's name can be given to a new one.
ALTER TABLE service_tokens DROP CONSTRAINT service_tokens_name_key;

CREATE UNIQUE INDEX service_tokens_live_name ON service_tokens (name) WHERE revoked_at IS NULL;
