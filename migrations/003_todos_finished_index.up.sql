-- The list filtered by is_finished (the UI's Open and Finished views), in
-- list order. With the filter inside the index, a filtered page, keyset or
-- offset, is a forward index scan that reads only rows of that filter and
-- stops after the page; todos_user_created_idx alone made it read and drop
-- the other rows, or sort the user's whole list for a deep offset.
CREATE INDEX todos_user_finished_created_idx ON todos (user_id, is_finished, created_at DESC, id DESC);
