#include "tracer/engine_decider.h"

#include <string>

namespace agentsh::tracer {

Verdict EngineDecider::convert(const policy::Verdict& v, std::string_view kind,
                               std::string_view target) {
  Verdict out;
  out.decision = std::string(policy::decision_name(v.decision));
  out.rule = v.rule;
  out.message = v.message.empty() ? v.reason : v.message;
  out.subject = kind == "exec" ? v.subject : std::string();
  switch (v.effect) {
    case policy::Effect::kAllow:
      out.allow = true;
      out.audit = v.decision != policy::Decision::kAllow;
      if (v.decision == policy::Decision::kSoftDelete && kind == "file")
        out.soft_delete_dir = trash_dir_;
      break;
    case policy::Effect::kDeny:
      out.allow = false;
      break;
    case policy::Effect::kAsk:
      out.allow = ask_ && ask_(kind, target, v);
      out.audit = true;
      if (!out.allow && out.message.empty()) out.message = "approval required";
      break;
  }
  return out;
}

Verdict EngineDecider::exec(const std::vector<std::string>& argv, std::string_view path,
                            bool nested) {
  std::string target;
  for (const auto& a : argv) {
    if (!target.empty()) target += ' ';
    target += a;
  }
  return convert(engine_.check_command(argv, path, nested), "exec", target);
}

Verdict EngineDecider::file(std::string_view path, policy::FileOp op) {
  return convert(engine_.check_file(path, op), "file", path);
}

bool EngineDecider::file_silently_allowed(std::string_view path, policy::FileOp op) {
  policy::Verdict v = engine_.check_file(path, op);
  return v.effect == policy::Effect::kAllow && v.decision == policy::Decision::kAllow;
}

Verdict EngineDecider::net(std::string_view ip, uint16_t port) {
  return convert(engine_.check_network({}, ip, port), "network",
                 std::string(ip) + ":" + std::to_string(port));
}

}  // namespace agentsh::tracer
