-- One row that the store's writer rewrites, after a write failed because the store could not take it (a full
-- disk, a database out of reach), to learn when it takes writes again: model calls are refused meanwhile, so that
-- none runs whose usage record cannot be written. Empty until the first such failure.
CREATE TABLE store_probe (
    id         INTEGER PRIMARY KEY,
    -- epoch microseconds
    written_at BIGINT  NOT NULL
);
