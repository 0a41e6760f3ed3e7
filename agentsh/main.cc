// agentsh: the command. Dispatches to one function per subcommand (agentsh/commands.h).
#include <dlfcn.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "agentsh/commands.h"

namespace {

struct Sub {
  const char* name;
  int (*fn)(const agentsh::cmd::Args&);
  const char* usage;
};

const Sub kSubs[] = {
    {"exec", agentsh::cmd::exec,
     "exec [--config F] [--policy NAME|PATH] [--workspace DIR] [--session ID] -- CMD ARGS...\n"
     "      Run CMD under policy; exits with CMD's status (126 = blocked by policy)."},
    {"debug", agentsh::cmd::debug,
     "debug policy-test --op OP --path P [--policy P] [--workspace DIR] [--json]\n"
     "      Ask the policy one question (ops: file_read, file_write, file_create,\n"
     "      file_delete, …, exec, net_connect with host:port)."},
    {"policy", agentsh::cmd::policy,
     "policy validate FILE...   Check policies (exit 1 with file:line:col on error).\n"
     "      policy show [--policy P]  Print the loaded policy's rules in order."},
    {"events", agentsh::cmd::events,
     "events query [--decision D] [--type T] [--session ID] [--since T] [--limit N] [--json]"},
    {"server", agentsh::cmd::server, "server [--config F]   Serve the HTTP API (127.0.0.1:18080)."},
    {"session", agentsh::cmd::session,
     "session create --workspace DIR [--json] | list [--json] | destroy ID"},
    {"approve", agentsh::cmd::approve, "approve list [--json] | resolve ID --allow|--deny"},
    {"shim", agentsh::cmd::shim,
     "shim install-shell|uninstall-shell|status [--root DIR] [--shim PATH] [--bash-only]\n"
     "      [--dry-run] [--force] [--i-understand-this-modifies-the-host]"},
    {"detect", agentsh::cmd::detect, "detect [--json]   What protection this machine allows."},
    {"llm", agentsh::cmd::llm, "llm log [--session ID] [--json]   LLM requests seen by the proxy."},
};

void print_help(FILE* out) {
  fprintf(out,
          "agentsh %s — governs what an AI agent's processes may do.\n\n"
          "Usage: agentsh <command> [options]\n\nCommands:\n",
          AGENTSH_VERSION);
  for (const Sub& s : kSubs) fprintf(out, "  %s\n", s.usage);
  fprintf(out,
          "  help [COMMAND]      This help, or one command's.\n"
          "  --version           Print the version.\n\n"
          "Exit status: the command's own; 126 = blocked by policy; 2 = bad usage.\n");
}

// Set first thing in main(): from then on OPENSSL_init_ssl below is the real one.
std::atomic<bool> g_in_main{false};

}  // namespace

// Start-up: libcpp-httplib (Debian builds it with OpenSSL) runs a static constructor that
// calls OPENSSL_init_ssl(LOAD_SSL_STRINGS | LOAD_CRYPTO_STRINGS): error-string tables,
// every cipher and digest, /usr/lib/ssl/openssl.cnf — about 1.5 ms before main() on
// every `agentsh exec`, which never uses TLS through httplib. The executable comes first
// in symbol lookup, so this definition receives that call: before main() it does nothing
// (OpenSSL >= 1.1 initialises itself on first use — SSL_CTX_new and friends call
// OPENSSL_init_ssl themselves, which then lands here after main() and is forwarded);
// after main() every call goes to libssl's. Thread-safety: the flag is atomic; the
// forwarded pointer is resolved once (a function-local static).
extern "C" int OPENSSL_init_ssl(uint64_t opts, const void* settings) {
  if (!g_in_main.load(std::memory_order_acquire)) return 1;
  using Fn = int (*)(uint64_t, const void*);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "OPENSSL_init_ssl"));
  return real != nullptr ? real(opts, settings) : 0;
}

int main(int argc, char** argv) {
  g_in_main.store(true, std::memory_order_release);
  if (argc < 2) {
    print_help(stderr);
    return 2;
  }
  std::string sub = argv[1];
  if (sub == "--version" || sub == "version") {
    printf("agentsh %s (%s)\n", AGENTSH_VERSION, AGENTSH_GIT_REV);
    return 0;
  }
  if (sub == "help" || sub == "--help" || sub == "-h") {
    if (argc > 2) {
      for (const Sub& s : kSubs) {
        if (strcmp(s.name, argv[2]) == 0) {
          printf("Usage: agentsh %s\n", s.usage);
          return 0;
        }
      }
      fprintf(stderr, "agentsh: no command '%s'\n", argv[2]);
      return 2;
    }
    print_help(stdout);
    return 0;
  }
  for (const Sub& s : kSubs) {
    if (sub == s.name) {
      agentsh::cmd::Args args(argv + 2, argv + argc);
      return s.fn(args);
    }
  }
  fprintf(stderr, "agentsh: unknown command '%s'\nRun 'agentsh help' for the list.\n", sub.c_str());
  return 2;
}
