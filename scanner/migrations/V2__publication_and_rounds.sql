-- Which revisions have been published (an outbox: a revision recorded but not yet published is published by
-- the next re-judgement that reads it), and which re-judgement rounds have been started.

ALTER TABLE reports ADD COLUMN published boolean NOT NULL DEFAULT false;
-- Revision 0 is published by the worker that stored it, and again on every redelivery of its submission.
UPDATE reports SET published = true WHERE revision = 0;

-- One row per (advisory database, rule set) whose re-judgement fan-out has been started: the first worker to
-- insert it fans out; the others do not.
CREATE TABLE rejudge_rounds (
    round      text PRIMARY KEY,
    claimed_by text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);
