#ifndef SPOR_SQLITE_OPTIONS_H
#define SPOR_SQLITE_OPTIONS_H

/// Turns off SQLite's checkpoint when the last connection closes
/// (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE), so that closing never writes to the database
/// file: a damaged workspace file stays byte for byte as it was found. Returns
/// SQLite's result code. `connection` is a `sqlite3 *`.
/// (A C shim because sqlite3_db_config is variadic, which Swift cannot call.)
int spor_sqlite_disable_checkpoint_on_close(void *connection);

/// Bytes SQLite has allocated in this process, all connections together (page
/// caches, statements, schemas): `sqlite3_memory_used()`.
long long spor_sqlite_memory_used(void);

#endif
