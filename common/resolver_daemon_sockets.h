// The unix sockets of local resolver daemons that answer name lookups on a program's
// behalf — outside agentsh's DNS policy (and forwarding the names: DNS exfiltration):
//  * nscd (glibc's client connects to /var/run/nscd/socket for hosts lookups);
//  * systemd-resolved's varlink API (nss-resolve, `hosts: resolve` in nsswitch.conf).
// A governed process's connect() to one of them is refused with ECONNREFUSED, which glibc
// treats as "daemon not running": nscd's client falls back to the NSS modules, and
// nss-resolve returns UNAVAIL so `[!UNAVAIL=return] dns` goes on with the dns module,
// which agentsh points at its DNS proxy. The one list, used by the hook
// (preload/net_guard.cc) and the tracer (tracer/net_emulator.cc).
//
// Not here: resolved's D-Bus API (org.freedesktop.resolve1) over the system bus — the bus
// is a general channel agentsh does not police.
//
// Header-only, constexpr, no allocation: usable inside the hook.
#pragma once

#include <cstddef>
#include <cstring>

namespace agentsh::resolver_daemon_sockets {

// Both spellings of each socket: /var/run is a symlink to /run on current systems, and
// programs (glibc's nscd client among them) use either. The audit rule name below.
inline constexpr const char* kPaths[] = {
    "/run/nscd/socket",
    "/var/run/nscd/socket",
    "/run/systemd/resolve/io.systemd.Resolve",
    "/var/run/systemd/resolve/io.systemd.Resolve",
};
inline constexpr size_t kCount = sizeof kPaths / sizeof kPaths[0];
inline constexpr const char* kRule = "dns-daemon-bypass";
inline constexpr const char* kMessage =
    "name lookups through a local resolver daemon bypass the DNS policy";

// The final component of `path` (after the last '/'), or `path` itself.
inline const char* base_name(const char* path) noexcept {
  const char* slash = strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

// True when `path` (NUL-terminated) is spelt exactly as one of kPaths.
inline bool is_listed(const char* path) noexcept {
  for (const char* p : kPaths)
    if (strcmp(p, path) == 0) return true;
  return false;
}

// True when `path`'s final component is the final component of one of kPaths: only then
// can it name one of the sockets through another spelling (relative, `..`, a symlinked
// directory, a bind mount), so only then is a stat worth making. Cheap, no syscalls.
inline bool may_name_one(const char* path) noexcept {
  const char* b = base_name(path);
  for (const char* p : kPaths)
    if (strcmp(base_name(p), b) == 0) return true;
  return false;
}

}  // namespace agentsh::resolver_daemon_sockets
