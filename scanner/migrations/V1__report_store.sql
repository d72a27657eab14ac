-- The shared report store (see scanner/src/store/postgres.rs).

-- One row per submission id: the claim (name, version) made by the first worker to store a report for it.
CREATE TABLE submissions (
    id               text PRIMARY KEY,
    name             text NOT NULL,
    version          text NOT NULL,
    publisher        text,
    archive_sha256   text NOT NULL,
    received         timestamptz NOT NULL DEFAULT now(),
    state            text NOT NULL DEFAULT 'claimed' CHECK (state IN ('claimed', 'judged')),
    current_revision integer CHECK (current_revision >= 0)
);
CREATE INDEX submissions_by_asset ON submissions (name, version);

-- One row per verdict revision of a submission; its files below.
CREATE TABLE reports (
    submission_id text NOT NULL REFERENCES submissions (id),
    revision      integer NOT NULL CHECK (revision >= 0),
    verdict       text NOT NULL CHECK (verdict IN ('accepted', 'needs-review', 'rejected')),
    rules_sha256  text NOT NULL,
    advisory_db   text NOT NULL,
    created       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (submission_id, revision)
);

CREATE TABLE report_files (
    submission_id text NOT NULL,
    revision      integer NOT NULL,
    name          text NOT NULL,
    content       bytea NOT NULL,
    PRIMARY KEY (submission_id, revision, name),
    FOREIGN KEY (submission_id, revision) REFERENCES reports (submission_id, revision)
);

-- Append-only: each event names the hash of the one before it (`assay store history --check`).
CREATE TABLE verdict_events (
    submission_id    text NOT NULL,
    revision         integer NOT NULL,
    previous_verdict text,
    verdict          text NOT NULL,
    reason           text NOT NULL,
    advisory_db      text NOT NULL,
    rules_sha256     text NOT NULL,
    at               text NOT NULL,
    previous_hash    text,
    hash             text NOT NULL,
    PRIMARY KEY (submission_id, revision),
    FOREIGN KEY (submission_id, revision) REFERENCES reports (submission_id, revision)
);

CREATE FUNCTION verdict_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'verdict_events is append-only';
END
$$;
CREATE TRIGGER verdict_events_append_only BEFORE UPDATE OR DELETE ON verdict_events
    FOR EACH ROW EXECUTE FUNCTION verdict_events_are_append_only();
