// agentsh shim install-shell | uninstall-shell | status: the bash shim's installer.
// All the work is in ShellInstaller (agentsh/shell_installer.h).
#include <cstdio>

#include "agentsh/arg_parser.h"
#include "agentsh/commands.h"
#include "agentsh/shell_installer.h"

namespace agentsh::cmd {

int shim(const Args& args) {
  ArgParser p("shim");
  p.option("root")
      .option("shim")
      .flag("bash-only")
      .flag("dry-run")
      .flag("force")
      .flag("i-understand-this-modifies-the-host");
  if (!p.parse(args)) return p.usage_error();
  if (p.positionals().size() != 1)
    return p.usage_error("expected one of: install-shell, uninstall-shell, status");
  ShellInstallOptions o;
  o.root = p.get("root", "/");
  o.shim_path = p.get("shim");
  o.bash_only = p.has("bash-only");
  o.dry_run = p.has("dry-run");
  o.force = p.has("force");
  o.acknowledged = p.has("i-understand-this-modifies-the-host");
  ShellInstaller installer(o, stdout, stderr);
  const std::string& verb = p.positionals()[0];
  if (verb == "install-shell") return installer.install();
  if (verb == "uninstall-shell") return installer.uninstall();
  if (verb == "status") return installer.status();
  return p.usage_error("unknown shim command '" + verb +
                       "' (expected install-shell, uninstall-shell or status)");
}

}  // namespace agentsh::cmd
