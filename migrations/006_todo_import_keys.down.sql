DROP INDEX todos_user_import_key;
ALTER TABLE todos DROP COLUMN import_key;
