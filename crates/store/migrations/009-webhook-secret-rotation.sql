-- contactsd schema, migration 9: webhook secrets rotate.
--
-- `contactsd org webhook-secret ORG_ID --rotate` makes a new secret and
-- keeps the one it replaces until `previous_webhook_secret_until`
-- (milliseconds): for those 24 hours import webhooks carry a signature
-- with each, so receivers can switch without missing a delivery.
ALTER TABLE organizations ADD COLUMN previous_webhook_secret TEXT;
ALTER TABLE organizations ADD COLUMN previous_webhook_secret_until INTEGER;
