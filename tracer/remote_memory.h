// Reading a stopped or notification-blocked caller's memory (process_vm_readv).
//
// Everything read this way is a *copy*: the supervisor decides on the copy and, where
// the call is emulated, acts on the copy, so a second thread rewriting the original
// afterwards changes nothing (see README.md, "TOCTOU").
// Thread-safety: stateless.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace agentsh::tracer::remote_memory {

// Reads exactly `len` bytes. 0 or -errno (-EFAULT for an unmapped address).
int read(pid_t tid, uint64_t addr, void* buf, size_t len);
// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
// 0, -EFAULT, or -ENAMETOOLONG when no NUL within `max`.
int read_string(pid_t tid, uint64_t addr, size_t max, std::string* out);
// Reads a NULL-terminated array of string pointers (argv). -E2BIG past `max_total`
// bytes or `max_count` entries; on any error `out` holds an unspecified partial result.
int read_string_array(pid_t tid, uint64_t addr, size_t max_total, size_t max_count,
                      std::vector<std::string>* out);

// read_string(path_addr, path_max) then read_string_array(argv_addr, ...), with the
// first read of each done by one process_vm_readv. Same results and errors.
int read_exec_args(pid_t tid, uint64_t path_addr, size_t path_max, uint64_t argv_addr,
                   size_t max_total, size_t max_count, std::string* path,
                   std::vector<std::string>* argv);

}  // namespace agentsh::tracer::remote_memory
