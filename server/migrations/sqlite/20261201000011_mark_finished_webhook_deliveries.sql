-- When a delivery's processing finished. A claim without it that is older than a
-- minute belongs to a server that died mid-way, and a redelivery may take it over.
ALTER TABLE webhook_deliveries ADD COLUMN done_at BIGINT;
