-- What makes an import idempotent: each imported todo keeps the key of the
-- line it came from (app/todos/import-line.ts says how a key is made), and a
-- user holds each key at most once, so a line imported again, by a retried
-- batch, a resumed job or the same file uploaded twice, creates nothing.
-- Todos made through the API have none, and the partial index skips them.
--
-- A nullable column with no default is added without rewriting the table.
ALTER TABLE todos ADD COLUMN import_key bytea;
CREATE UNIQUE INDEX todos_user_import_key ON todos (user_id, import_key) WHERE import_key IS NOT NULL;
