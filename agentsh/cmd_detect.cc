// agentsh detect [--json]: probes this machine (agentsh/detect.h) and reports the layers
// agentsh will use, a Protection Score and how to raise it. Always exits 0 (it reports;
// it does not judge), 2 on bad usage.
#include <cstdio>

#include "agentsh/arg_parser.h"
#include "agentsh/commands.h"
#include "agentsh/detect.h"

namespace agentsh::cmd {

int detect(const Args& args) {
  ArgParser p("detect");
  p.flag("json");
  if (!p.parse(args)) return p.usage_error();
  if (!p.positionals().empty())
    return p.usage_error("unexpected argument '" + p.positionals()[0] + "'");
  DetectReport r = detect::run();
  if (p.has("json"))
    printf("%s\n", detect::render_json(r).dump(2).c_str());
  else
    fputs(detect::render_text(r).c_str(), stdout);
  return 0;
}

}  // namespace agentsh::cmd
