-- Keys every replica must share that are not secrets of their own: the server's Ed25519 signing key (its private
-- half sealed by the secrets key), so that bundles exported by any replica verify against one public key.
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
