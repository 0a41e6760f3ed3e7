// Opening a shared SQLite database from several agentsh processes at once.
#pragma once

#include <sqlite3.h>

#include <string>

namespace agentsh::sqlite_init {

// Switches `db` to WAL (synchronous=NORMAL) and runs `schema`, retrying for a few
// seconds on SQLITE_BUSY/LOCKED: several agentsh processes may open a new database at
// the same moment (parallel API execs), and the busy timeout does not cover the switch
// to WAL. False with `error` set (SQLite's message) otherwise.
bool prepare(sqlite3* db, const char* schema, std::string* error);

}  // namespace agentsh::sqlite_init
