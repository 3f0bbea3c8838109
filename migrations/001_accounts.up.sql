-- Accounts: users, browser sessions and personal API tokens.
-- Secrets (session ids, tokens) are stored only as SHA-256 hashes: a leaked
-- table cannot be replayed against the API.

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
  password_hash text NOT NULL,
  public_slug   text UNIQUE CHECK (public_slug ~ '^[a-z0-9-]{3,40}$'),
  created_at    timestamptz(3) NOT NULL DEFAULT now()
);

-- E-mail addresses are unique regardless of case; lookups use lower(email).
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE sessions (
  id_hash    bytea PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token text NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  expires_at timestamptz(3) NOT NULL
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
-- For the periodic clean-up of expired sessions.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE api_tokens (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  token_hash   bytea NOT NULL UNIQUE,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  last_used_at timestamptz(3)
);

CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id, created_at);
