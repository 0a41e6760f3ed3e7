#include "agentsh/sqlite_init.h"

#include <unistd.h>

namespace agentsh::sqlite_init {

bool prepare(sqlite3* db, const char* schema, std::string* error) {
  char* err = nullptr;
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < 100; ++attempt) {
    sqlite3_free(err);
    err = nullptr;
    rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", nullptr, nullptr,
                      &err);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, schema, nullptr, nullptr, &err);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    usleep(50000);
  }
  if (rc != SQLITE_OK && error) *error = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return rc == SQLITE_OK;
}

}  // namespace agentsh::sqlite_init
