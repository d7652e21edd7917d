#include "sqlite_options.h"
#include <sqlite3.h>

int spor_sqlite_disable_checkpoint_on_close(void *connection) {
    return sqlite3_db_config((sqlite3 *)connection, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
}

long long spor_sqlite_memory_used(void) {
    return (long long)sqlite3_memory_used();
}
