-- What the escalation watch does by itself when its time comes (see the model's
-- `Timer`): a deferral ends (process step 3), a resolved incident closes (the
-- process profile's auto-close), a root-cause analysis reminder goes out (Mitz).
-- Each instant is a column with a partial index, so a pass reads what is due, not
-- every incident. The gateway writes them with the body; existing rows are filled
-- from their bodies here, by the same rules.
ALTER TABLE incidents
  ADD COLUMN deferred_ns bigint,
  ADD COLUMN auto_close_ns bigint,
  ADD COLUMN rca_due_ns bigint;
UPDATE incidents
   SET deferred_ns = (extract(epoch FROM (body->>'deferred_until')::timestamptz) * 1000000000)::bigint
 WHERE body ? 'deferred_until';
UPDATE incidents
   SET auto_close_ns = (extract(epoch FROM (body->'process'->>'auto_close_at')::timestamptz) * 1000000000)::bigint
 WHERE status = 'resolved' AND body->'process'->>'auto_close_at' IS NOT NULL;
UPDATE incidents
   SET rca_due_ns = (extract(epoch FROM (body->'rca'->>'due')::timestamptz) * 1000000000)::bigint
 WHERE status <> 'cancelled' AND body->'rca'->>'due' IS NOT NULL
   AND body->'rca'->>'delivered_at' IS NULL AND body->'rca'->>'reminded_at' IS NULL;
CREATE INDEX incidents_deferred ON incidents (deferred_ns, id) WHERE deferred_ns IS NOT NULL;
CREATE INDEX incidents_auto_close ON incidents (auto_close_ns, id) WHERE auto_close_ns IS NOT NULL;
CREATE INDEX incidents_rca_due ON incidents (rca_due_ns, id) WHERE rca_due_ns IS NOT NULL;
