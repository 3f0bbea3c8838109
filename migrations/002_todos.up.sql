-- Todos, and the records that make POST retries with an Idempotency-Key safe.

CREATE TABLE todos (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  content     text NOT NULL CHECK (char_length(content) BETWEEN 1 AND 1000),
  is_finished boolean NOT NULL DEFAULT false,
  -- Millisecond precision, the same as the API's timestamps, so a keyset
  -- cursor built from a JSON timestamp names an exact row position.
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  updated_at  timestamptz(3) NOT NULL DEFAULT now(),
  finished_at timestamptz(3),
  CHECK (is_finished = (finished_at IS NOT NULL))
);

-- The tutorial's index on created_at, made per user and with the id as the
-- tie-breaker: the list query (newest first, keyset or offset) is a plain
-- forward index scan with no sort, however deep the page.
CREATE INDEX todos_user_created_idx ON todos (user_id, created_at DESC, id DESC);

CREATE TABLE idempotency_keys (
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key           text NOT NULL,
  request_hash  bytea NOT NULL,
  status_code   integer,
  response_body jsonb,
  location      text,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);

-- For the clean-up of records older than the 24 h replay window.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
