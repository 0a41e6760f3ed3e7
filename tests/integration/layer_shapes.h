// The layer shapes a governance test runs its case program in: `agentsh exec MODE`
// ("" = hook + tracer, "--no-tracer" = hook only, "--no-hook" = tracer only) times the
// binary (the dynamic build, or its ".static" twin from tests/cases/).
#pragma once

#include <string>
#include <vector>

namespace agentsh::testing_support {

struct Shape {
  const char* mode;    // extra `agentsh exec` flag, "" for both layers
  const char* suffix;  // "" dynamic, ".static"
};

// Every shape in which something governs the binary: hook-only is left out for the static
// build, which no hook can enter (that mode is documented as not governing it).
inline constexpr Shape kGovernedShapes[] = {
    {"", ""}, {"", ".static"}, {"--no-tracer", ""}, {"--no-hook", ""}, {"--no-hook", ".static"}};

// The dynamic builds only, one per mode (for cases that drive a dynamic tool like curl).
inline constexpr Shape kDynamicShapes[] = {{"", ""}, {"--no-tracer", ""}, {"--no-hook", ""}};

// A test-name suffix: "HookAndTracerDynamic", "HookOnlyDynamic", "TracerOnlyStatic", …
inline std::string shape_name(const Shape& s) {
  const std::string mode = s.mode;
  std::string name = mode.empty()          ? "HookAndTracer"
                     : mode == "--no-hook" ? "TracerOnly"
                                           : "HookOnly";
  return name + (*s.suffix ? "Static" : "Dynamic");
}

// The start of an argv that runs the rest in a private mount namespace where /etc/hosts
// and /etc/resolv.conf are bind-mounted from `hosts` and `resolv` (never the host's own
// files). Append the command.
inline std::vector<std::string> with_private_etc(const std::string& hosts,
                                                 const std::string& resolv) {
  return {"/usr/bin/unshare",
          "-m",
          "/bin/sh",
          "-c",
          "mount --bind \"$0\" /etc/hosts && mount --bind \"$1\" /etc/resolv.conf && shift && "
          "exec \"$@\"",
          hosts,
          resolv};
}

}  // namespace agentsh::testing_support
