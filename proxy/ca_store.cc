#include "proxy/ca_store.h"

#include <fcntl.h>
#include <mbedtls/platform_util.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/scoped_fd.h"
#include "proxy/tls_x509_util.h"

namespace agentsh::proxy {

using tls_handles::error_text;

namespace {

constexpr time_t kCaLifetime = 10 * 365 * 24 * 3600;

std::string errno_text(const std::string& what) {
  return what + ": " + strerror(errno);
}

// Reads a whole (small) file. With `st`, also returns its fstat.
bool read_file(const std::string& path, std::string* out, struct stat* st = nullptr) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return false;
  struct stat tmp;
  if (fstat(fd.get(), &tmp) != 0 || !S_ISREG(tmp.st_mode)) return false;
  if (st) *st = tmp;
  out->clear();
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, size_t(n));
  }
}

// Writes `data` to `path` with `mode` via a temporary file and rename, so readers see
// the old or the new file, never a half-written one.
bool write_file_atomic(const std::string& path, const std::string& data, mode_t mode,
                       std::string* error) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  unlink(tmp.c_str());
  ScopedFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) {
    *error = errno_text("cannot create " + tmp);
    return false;
  }
  size_t put = 0;
  while (put < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + put, data.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = errno_text("cannot write " + tmp);
      unlink(tmp.c_str());
      return false;
    }
    put += size_t(n);
  }
  // The umask may have narrowed `mode`; state it exactly.
  if (fchmod(fd.get(), mode) != 0 || fsync(fd.get()) != 0 ||
      rename(tmp.c_str(), path.c_str()) != 0) {
    *error = errno_text("cannot install " + path);
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool mkdir_p(const std::string& dir, std::string* error) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      cur = dir.substr(0, i);
      if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        *error = errno_text("cannot create CA directory " + cur);
        return false;
      }
    }
  }
  return true;
}

}  // namespace

std::unique_ptr<CaStore> CaStore::open(const std::string& dir, std::string* error,
                                       const std::string& system_bundle) {
  std::unique_ptr<CaStore> s(new CaStore());
  s->dir_ = dir;
  while (s->dir_.size() > 1 && s->dir_.back() == '/') s->dir_.pop_back();
  if (s->dir_.empty()) {
    *error = "CA store: no directory given";
    return nullptr;
  }
  if (!mkdir_p(s->dir_, error)) return nullptr;
  // Serialise first-time generation between processes.
  std::string lock_path = s->dir_ + "/.lock";
  ScopedFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) {
    *error = errno_text("cannot open " + lock_path);
    return nullptr;
  }
  while (flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      *error = errno_text("cannot lock " + lock_path);
      return nullptr;
    }
  }
  struct stat st;
  bool have_key = stat(s->key_path().c_str(), &st) == 0;
  bool have_cert = stat(s->cert_path().c_str(), &st) == 0;
  if (have_key && have_cert) {
    if (!s->load(error)) return nullptr;
  } else {
    if (have_key != have_cert) {
      // A crash between the two renames: nothing was ever signed with a CA whose
      // certificate does not exist, so starting over is safe.
      unlink(s->key_path().c_str());
      unlink(s->cert_path().c_str());
    }
    if (!s->generate(error) || !s->load(error)) return nullptr;
    s->generated_ = true;
  }
  if (!s->write_bundle(system_bundle, error)) return nullptr;
  return s;
}

bool CaStore::generate(std::string* error) {
  TlsRng* rng = TlsRng::shared();
  if (rng == nullptr) {
    *error = "CA store: the random generator could not be seeded from the OS";
    return false;
  }
  tls_handles::Pk key = tls_handles::make_Pk();
  if (!tls_x509_util::generate_ec_key(*rng, key.get(), error)) return false;
  unsigned char id[4];
  TlsRng::random(rng, id, sizeof id);
  char name[64];
  snprintf(name, sizeof name, "CN=agentsh CA %02x%02x%02x%02x,O=agentsh", id[0], id[1], id[2],
           id[3]);
  tls_x509_util::CertSpec spec;
  spec.subject = spec.issuer = name;
  spec.subject_key = spec.issuer_key = key.get();
  time_t now = time(nullptr);
  spec.not_before = now - 24 * 3600;  // tolerate clocks a little behind ours
  spec.not_after = now + kCaLifetime;
  spec.is_ca = true;
  std::string pem;
  if (!tls_x509_util::issue_pem(*rng, spec, &pem, error)) return false;
  unsigned char buf[1024];
  int ret = mbedtls_pk_write_key_pem(key.get(), buf, sizeof buf);
  if (ret != 0) {
    *error = error_text("CA store: encoding the CA key", ret);
    return false;
  }
  std::string key_pem(reinterpret_cast<char*>(buf));
  mbedtls_platform_zeroize(buf, sizeof buf);
  bool ok = write_file_atomic(key_path(), key_pem, 0600, error) &&
            write_file_atomic(cert_path(), pem, 0644, error);
  mbedtls_platform_zeroize(key_pem.data(), key_pem.size());
  return ok;
}

bool CaStore::load(std::string* error) {
  std::string key_pem;
  struct stat st;
  if (!read_file(key_path(), &key_pem, &st)) {
    *error = errno_text("cannot read CA key " + key_path());
    return false;
  }
  if (st.st_uid != geteuid()) {
    *error = "CA key " + key_path() + " belongs to uid " + std::to_string(st.st_uid) +
             ", not to us (uid " + std::to_string(geteuid()) +
             "); remove the CA directory to regenerate it";
    return false;
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    *error = "CA key " + key_path() + " is accessible to group/others (mode " + mode +
             "); run: chmod 600 " + key_path();
    mbedtls_platform_zeroize(key_pem.data(), key_pem.size());
    return false;
  }
  int ret =
      mbedtls_pk_parse_key(key_.get(), reinterpret_cast<const unsigned char*>(key_pem.c_str()),
                           key_pem.size() + 1, nullptr, 0);
  mbedtls_platform_zeroize(key_pem.data(), key_pem.size());
  if (ret != 0) {
    *error = error_text("CA key " + key_path() + " is not a valid PEM key", ret);
    return false;
  }
  if (!read_file(cert_path(), &cert_pem_)) {
    *error = errno_text("cannot read CA certificate " + cert_path());
    return false;
  }
  ret = mbedtls_x509_crt_parse(
      cert_.get(), reinterpret_cast<const unsigned char*>(cert_pem_.c_str()), cert_pem_.size() + 1);
  if (ret != 0) {
    *error = error_text("CA certificate " + cert_path() + " does not parse", ret);
    return false;
  }
  if (!cert_->ca_istrue) {
    *error = "CA certificate " + cert_path() + " is not a CA (basicConstraints CA:FALSE)";
    return false;
  }
  if ((ret = mbedtls_pk_check_pair(&cert_->pk, key_.get())) != 0) {
    *error = error_text("CA key " + key_path() + " does not match " + cert_path(), ret);
    return false;
  }
  if (TlsRng* rng = TlsRng::shared()) tls_x509_util::warm_up_key(*rng, key_.get());
  subject_ = tls_x509_util::subject_of(cert_.get());
  not_after_ = tls_x509_util::not_after_of(cert_.get());
  not_before_ = tls_x509_util::not_before_of(cert_.get());
  if (not_after_ <= time(nullptr)) {
    *error = "CA certificate " + cert_path() + " has expired; remove " + dir_ +
             " to generate a new CA (and re-run anything that trusts the old one)";
    return false;
  }
  return true;
}

bool CaStore::write_bundle(const std::string& system_bundle, std::string* error) {
  std::string want;
  if (!system_bundle.empty() && read_file(system_bundle, &want) && !want.empty() &&
      want.back() != '\n')
    want.push_back('\n');
  want += "# agentsh interception CA: " + subject_ + "\n" + cert_pem_;
  std::string have;
  if (read_file(bundle_path(), &have) && have == want) return true;
  return write_file_atomic(bundle_path(), want, 0644, error);
}

std::map<std::string, std::string> CaStore::env_vars() const {
  return {{"SSL_CERT_FILE", bundle_path()},
          {"REQUESTS_CA_BUNDLE", bundle_path()},
          {"CURL_CA_BUNDLE", bundle_path()},
          {"GIT_SSL_CAINFO", bundle_path()},
          {"NODE_EXTRA_CA_CERTS", cert_path()}};
}

}  // namespace agentsh::proxy
