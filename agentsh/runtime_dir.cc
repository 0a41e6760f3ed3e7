#include "agentsh/runtime_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/scoped_fd.h"

namespace agentsh {

namespace {
bool mkdirs(const std::string& dir, mode_t mode) {
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  auto slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0 && !mkdirs(dir.substr(0, slash), mode)) return false;
  return mkdir(dir.c_str(), mode) == 0 || errno == EEXIST;
}
}  // namespace

bool RuntimeDir::create(const std::string& parent, std::string* error) {
  if (!mkdirs(parent, 0755)) {
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
  std::string tmp = path_ + "/." + name + ".tmp";
  ScopedFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) {
    *error = "cannot write " + tmp + ": " + strerror(errno);
    return false;
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = write(fd.get(), data.data() + off, data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      *error = "cannot write " + tmp + ": " + strerror(errno);
      return false;
    }
    off += static_cast<size_t>(w);
  }
  fchmod(fd.get(), static_cast<mode_t>(mode));
  fd.reset();
  if (rename(tmp.c_str(), (path_ + "/" + name).c_str()) != 0) {
    *error = "cannot rename " + tmp + ": " + strerror(errno);
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
