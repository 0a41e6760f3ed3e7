// RuntimeDir: the per-run directory holding the policy snapshot and the broker socket.
// Created with a unique name under a parent; removed (with its files) on destruction.
#pragma once

#include <string>

namespace agentsh {

class RuntimeDir {
 public:
  RuntimeDir() = default;
  ~RuntimeDir();
  RuntimeDir(const RuntimeDir&) = delete;
  RuntimeDir& operator=(const RuntimeDir&) = delete;

  // Creates <parent>/exec-XXXXXX (mode 0755: processes of the tree, whatever their uid,
  // must read the snapshot; nobody but its owner may write there).
  bool create(const std::string& parent, std::string* error);
  // Writes <dir>/<name> (a new file) with `mode`. Not fsynced: see runtime_dir.cc.
  bool write_file(const std::string& name, const std::string& data, int mode, std::string* error);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace agentsh
