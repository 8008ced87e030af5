-- webhook_event_stored is now sent by the API in a statement of its own once the event's insert has
-- committed (announceStoredWebhookEvents in src/db/webhook-events.ts), not by a trigger inside the
-- insert's transaction: a transaction that NOTIFYs takes PostgreSQL's one cluster-wide notification
-- lock at commit and holds it until the commit is flushed, so every webhook acknowledgement queued
-- behind the settlement writes' purchase_changed commits.
DROP TRIGGER "WebhookEvent_stored" ON "WebhookEvent";
DROP FUNCTION notify_webhook_event_stored();
