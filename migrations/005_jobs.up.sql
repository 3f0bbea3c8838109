-- Background jobs as users see them (GET /api/jobs), and the uploads they
-- read. BullMQ on Redis dispatches, retries and recovers stalled jobs; this
-- table is the record a user's question is answered from, and what lets an
-- interrupted import resume where its last committed batch ended.

CREATE TABLE jobs (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind          text NOT NULL CHECK (kind IN ('import')),
  state         text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
  -- Records handled so far, committed with the batch that handled them: the
  -- resume point after a crash.
  done          integer NOT NULL DEFAULT 0,
  total         integer,
  created       integer NOT NULL DEFAULT 0,
  skipped       integer NOT NULL DEFAULT 0,
  -- The first 100 invalid lines ({line, errors}); invalid_count counts all.
  invalid       jsonb NOT NULL DEFAULT '[]',
  invalid_count integer NOT NULL DEFAULT 0,
  error         text,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  started_at    timestamptz(3),
  finished_at   timestamptz(3),
  CHECK ((state IN ('succeeded', 'failed')) = (finished_at IS NOT NULL))
);

-- A user's recent jobs, newest first (keyset paging like the todo list).
CREATE INDEX jobs_user_created_idx ON jobs (user_id, created_at DESC, id DESC);
-- For the clean-up of finished jobs, and the sweep that re-queues jobs whose
-- queue entry was lost.
CREATE INDEX jobs_finished_at_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_unfinished_idx ON jobs (created_at) WHERE finished_at IS NULL;

-- An upload is stored in the same transaction as its job, before the 202:
-- a job that was accepted can always be run, whatever happens to Redis.
CREATE TABLE job_uploads (
  job_id  uuid PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  format  text NOT NULL CHECK (format IN ('ndjson', 'csv')),
  digest  bytea NOT NULL,
  body    bytea NOT NULL
);
