#include "agentsh/runtime_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/fs_util.h"
#include "common/scoped_fd.h"

namespace agentsh {

bool RuntimeDir::create(const std::string& parent, std::string* error) {
  if (!fs_util::make_dirs(parent, 0755)) {
    *error = "cannot create runtime directory " + parent + ": " + strerror(errno);
    return false;
  }
  std::string templ = parent + "/exec-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    *error = "cannot create runtime directory under " + parent + ": " + strerror(errno);
    return false;
  }
  path_ = buf.data();
  chmod(path_.c_str(), 0755);
  return true;
}

bool RuntimeDir::write_file(const std::string& name, const std::string& data, int mode,
                            std::string* error) {
  // No fsync and no temp+rename (unlike fs_util::write_file_atomic): the directory is
  // fresh and ours alone, nobody reads the file before we return, and it dies with the
  // run — durability across a crash buys nothing and the fsync cost ~1 ms of start-up.
  // O_EXCL: a name is written once.
  std::string p = path_ + "/" + name;
  ScopedFd fd(open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  bool ok = static_cast<bool>(fd);
  size_t off = 0;
  while (ok && off < data.size()) {
    ssize_t w = write(fd.get(), data.data() + off, data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;
      ok = false;
      break;
    }
    off += static_cast<size_t>(w);
  }
  if (ok && fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) ok = false;
  if (!ok) {
    *error = "cannot write " + p + ": " + strerror(errno);
    if (fd) unlink(p.c_str());
    return false;
  }
  return true;
}

RuntimeDir::~RuntimeDir() {
  if (path_.empty()) return;
  if (DIR* d = opendir(path_.c_str())) {
    while (dirent* e = readdir(d)) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      unlink((path_ + "/" + e->d_name).c_str());
    }
    closedir(d);
  }
  rmdir(path_.c_str());
}

}  // namespace agentsh
