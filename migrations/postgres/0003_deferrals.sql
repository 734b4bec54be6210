-- The deferrals the escalation watch ends when due (process step 3): a P3/P4
-- reported outside staffed hours waits for the next working start. Indexed so a
-- round reads what is due, not every incident.
ALTER TABLE incidents ADD COLUMN deferred_ns bigint;
UPDATE incidents
   SET deferred_ns = (extract(epoch FROM (body->>'deferred_until')::timestamptz) * 1000000000)::bigint
 WHERE body ? 'deferred_until';
CREATE INDEX incidents_deferred ON incidents (deferred_ns, id) WHERE deferred_ns IS NOT NULL;
