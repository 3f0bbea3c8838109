-- How many todos each user has, and the per-user limit on creating more.
--
-- The count is kept by triggers, whoever writes todos (the API, the seed, a
-- later import): one change per statement and user. It is split over up to
-- 32 rows per user, one per connection slot (the backend's pid modulo 32),
-- so one user's creates on different connections never wait for each
-- other's commit on a single counter row: on a durable server that wait is
-- a WAL flush per create, and one user's concurrent creates would run one
-- at a time. Only the sum of a user's rows means something.
CREATE TABLE todo_counts (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  part    smallint NOT NULL,
  n       integer NOT NULL,
  PRIMARY KEY (user_id, part)
);

-- Writes to todos wait until this commits, so the count below misses none.
LOCK TABLE todos IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO todo_counts (user_id, part, n) SELECT user_id, 0, count(*) FROM todos GROUP BY user_id;

-- The user's lock for the limit (see below), shared or alone, until the
-- transaction ends. Two users may share a key: that only makes one wait.
CREATE FUNCTION todo_limit_lock(user_id uuid, alone boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF alone THEN
    PERFORM pg_advisory_xact_lock(3041, hashtext(user_id::text));
  ELSE
    PERFORM pg_advisory_xact_lock_shared(3041, hashtext(user_id::text));
  END IF;
END
$$;

-- An insert made with the setting todo_stack.todo_limit (the API's creates
-- set it for their transaction) must leave its user with at most that many
-- todos, however many creates run at once. After adding itself, a create
-- reads the count in a statement of its own, so in a snapshot taken then.
--   - Usually creates share the user's lock. The count then holds every
--     create committed before, and only the creates still running can be
--     missing: fewer than max_connections. If the count plus those stays
--     within the limit, no order of commits can pass it. Else 'TDALN': too
--     near the limit to tell; the create is to be made again, alone.
--   - Alone (todo_stack.todo_limit_alone = on), a create takes the lock
--     exclusively, so it waits out those sharing it and checks the exact
--     count: 'TDFUL' when that passes the limit.
-- Writers without the setting (the seed, tests) are counted, not limited.
CREATE FUNCTION todos_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  max_todos integer := nullif(current_setting('todo_stack.todo_limit', true), '')::integer;
  alone     boolean := current_setting('todo_stack.todo_limit_alone', true) = 'on';
  running   integer := current_setting('max_connections')::integer + current_setting('max_prepared_transactions')::integer - 1;
  own_part  smallint := pg_backend_pid() % 32;
  u         record;
  total     bigint;
BEGIN
  FOR u IN SELECT user_id, count(*)::integer AS added FROM inserted GROUP BY user_id LOOP
    IF max_todos IS NOT NULL THEN
      PERFORM todo_limit_lock(u.user_id, alone);
    END IF;
    UPDATE todo_counts AS c SET n = c.n + u.added WHERE c.user_id = u.user_id AND c.part = own_part;
    IF NOT FOUND THEN
      INSERT INTO todo_counts AS c (user_id, part, n) VALUES (u.user_id, own_part, u.added)
        ON CONFLICT (user_id, part) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    IF max_todos IS NOT NULL THEN
      total := (SELECT sum(n) FROM todo_counts WHERE user_id = u.user_id);
      IF alone AND total > max_todos THEN
        RAISE EXCEPTION 'todo limit reached' USING ERRCODE = 'TDFUL';
      ELSIF NOT alone AND total + running > max_todos THEN
        RAISE EXCEPTION 'todo limit near: create again, alone' USING ERRCODE = 'TDALN';
      END IF;
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;

-- Deleting never needs the limit's lock: a count that misses a delete still
-- running is only too high. Todos deleted with their user leave nothing to count.
CREATE FUNCTION todos_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO todo_counts AS c (user_id, part, n)
    SELECT user_id, pg_backend_pid() % 32, -count(*)::integer FROM deleted d
     WHERE EXISTS (SELECT FROM users WHERE id = d.user_id)
     GROUP BY user_id
    ON CONFLICT (user_id, part) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END
$$;

CREATE TRIGGER todos_count_insert AFTER INSERT ON todos
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION todos_count_inserted();
CREATE TRIGGER todos_count_delete AFTER DELETE ON todos
  REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION todos_count_deleted();
