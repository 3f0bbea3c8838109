DROP TRIGGER todos_count_delete ON todos;
DROP TRIGGER todos_count_insert ON todos;
DROP FUNCTION todos_count_deleted();
DROP FUNCTION todos_count_inserted();
DROP FUNCTION todo_limit_lock(uuid, boolean);
DROP TABLE todo_counts;
