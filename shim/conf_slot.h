// The slot in the shim binary that names its shim.conf.
//
// The shim must read the shim.conf "under the same root it was installed to", but it is
// a plain copy of one binary and may be installed into any tree (`--root DIR`). So the
// installer patches the path into the installed copy: the shim carries a fixed-size,
// NUL-padded slot that starts with a magic prefix; `agentsh shim install-shell` finds
// the prefix (exactly once) in the bytes it copies and writes "<root>/etc/agentsh/
// shim.conf" after it. An unpatched shim reads /etc/agentsh/shim.conf.
//
// Shared by shim/main.cc (which defines the slot) and agentsh/shell_installer.cc (which
// patches it). Plain constants only: safe in the shim (no allocation, no exceptions).
#pragma once

#include <cstddef>

// The prefix, spelled backwards so that a binary which merely *searches* for the slot
// (the installer, i.e. agentsh itself) never contains it forwards and cannot be
// mistaken for a shim. The shim spells it forwards in its slot initialiser.
#define AGENTSH_SHIM_SLOT_MAGIC_REVERSED ":1v-TOLS-FNOC-MIHS-HSTNEGA"
#define AGENTSH_SHIM_SLOT_MAGIC_LEN 26

namespace agentsh::shim_slot {

inline constexpr size_t kMagicLen = AGENTSH_SHIM_SLOT_MAGIC_LEN;
inline constexpr size_t kPathCap = 4096;  // bytes for the path, NUL included
inline constexpr const char* kDefaultConf = "/etc/agentsh/shim.conf";

}  // namespace agentsh::shim_slot
