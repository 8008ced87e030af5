-- Change notifications (LISTEN/NOTIFY), sent by PostgreSQL when the writing transaction commits.
-- purchase_changed (payload: the purchase id): a row the status read model is built from changed,
--   and the API's status cache drops that purchase.
-- webhook_event_stored (payload: the event id): a Stripe event was stored, and whoever acts on
--   the outbox looks at once instead of at its next poll.
CREATE FUNCTION notify_purchase_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- TG_ARGV[0]: the column holding the purchase id in the table the trigger is on
  PERFORM pg_notify('purchase_changed', to_jsonb(NEW) ->> TG_ARGV[0]);
  RETURN NULL;
END
$$;

CREATE TRIGGER "Purchase_changed" AFTER UPDATE ON "Purchase"
  FOR EACH ROW EXECUTE FUNCTION notify_purchase_changed('id');
CREATE TRIGGER "CollaboratorPayment_changed" AFTER INSERT OR UPDATE ON "CollaboratorPayment"
  FOR EACH ROW EXECUTE FUNCTION notify_purchase_changed('purchaseId');
CREATE TRIGGER "TreasuryHold_changed" AFTER INSERT OR UPDATE ON "TreasuryHold"
  FOR EACH ROW EXECUTE FUNCTION notify_purchase_changed('purchaseId');

CREATE FUNCTION notify_webhook_event_stored() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('webhook_event_stored', NEW.id);
  RETURN NULL;
END
$$;

CREATE TRIGGER "WebhookEvent_stored" AFTER INSERT ON "WebhookEvent"
  FOR EACH ROW EXECUTE FUNCTION notify_webhook_event_stored();
