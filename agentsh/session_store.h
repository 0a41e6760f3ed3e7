// Sessions on disk: <sessions_dir>/<id>/session.json, so `agentsh exec --session ID`
// works with or without a running server. One file per session, written atomically
// (temp file + rename). Thread-safe per call.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace agentsh {

struct SessionInfo {
  std::string id;            // "sess-" + 16 hex chars
  std::string workspace;     // absolute
  std::string project_root;  // nearest marker above the workspace, else the workspace
  std::string git_root;      // nearest .git above the workspace ("" if none)
  std::string policy;        // policy name or path ("" = config default)
  int64_t created_us = 0;
  int64_t last_active_us = 0;
};

class SessionStore {
 public:
  explicit SessionStore(std::string dir) : dir_(std::move(dir)) {}
  // Creates a session for `workspace` (which must exist). Fills project/git roots.
  std::optional<SessionInfo> create(const std::string& workspace, const std::string& policy,
                                    std::string* error);
  std::optional<SessionInfo> load(const std::string& id, std::string* error) const;
  std::vector<SessionInfo> list() const;
  bool destroy(const std::string& id, std::string* error);
  bool touch(const std::string& id);  // updates last_active_us
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace agentsh
