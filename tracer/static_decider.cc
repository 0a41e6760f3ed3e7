#include "tracer/static_decider.h"

#include "common/path_util.h"

namespace agentsh::tracer {

namespace {
std::string_view base_name(std::string_view p) {
  size_t s = p.rfind('/');
  return s == std::string_view::npos ? p : p.substr(s + 1);
}
}  // namespace

StaticDecider& StaticDecider::deny_command(std::string rule, std::string name) {
  commands_.push_back({std::move(rule), std::move(name), 0, 0});
  return *this;
}

StaticDecider& StaticDecider::deny_path(std::string rule, std::string dir, policy::OpMask ops) {
  paths_.push_back({std::move(rule), std::move(dir), ops, 0});
  return *this;
}

StaticDecider& StaticDecider::soft_delete_path(std::string rule, std::string dir,
                                               std::string trash) {
  soft_.push_back({std::move(rule), std::move(dir),
                   policy::op_bit(policy::FileOp::kDelete) | policy::op_bit(policy::FileOp::kRmdir),
                   0});
  trash_ = std::move(trash);
  return *this;
}

StaticDecider& StaticDecider::deny_net(std::string rule, std::string ip, uint16_t port) {
  nets_.push_back({std::move(rule), std::move(ip), 0, port});
  return *this;
}

Verdict StaticDecider::exec(const std::vector<std::string>& argv, std::string_view path,
                            bool nested) {
  ++exec_calls_;
  if (!nested) ++direct_exec_calls_;
  std::string_view a0 = argv.empty() ? std::string_view() : base_name(argv[0]);
  for (const auto& r : commands_) {
    if (a0 == r.subject || base_name(path) == r.subject) {
      Verdict v = Verdict::denied(r.name, "command " + r.subject + " is blocked");
      v.subject = r.subject;
      return v;
    }
  }
  Verdict v = Verdict::allowed("allow-default");
  return v;
}

Verdict StaticDecider::file(std::string_view path, policy::FileOp op) {
  ++file_calls_;
  for (const auto& r : paths_) {
    if ((r.ops & policy::op_bit(op)) &&
        path_util::is_under(path.data(), path.size(), r.subject.data(), r.subject.size()))
      return Verdict::denied(r.name, std::string(policy::file_op_name(op)) + " of " +
                                         std::string(path) + " is blocked");
  }
  for (const auto& r : soft_) {
    if ((r.ops & policy::op_bit(op)) &&
        path_util::is_under(path.data(), path.size(), r.subject.data(), r.subject.size())) {
      Verdict v = Verdict::allowed(r.name);
      v.decision = "soft_delete";
      v.audit = true;
      v.soft_delete_dir = trash_;
      return v;
    }
  }
  return Verdict::allowed("allow-default");
}

bool StaticDecider::file_silently_allowed(std::string_view path, policy::FileOp op) {
  for (const auto* rules : {&paths_, &soft_})
    for (const auto& r : *rules)
      if ((r.ops & policy::op_bit(op)) &&
          path_util::is_under(path.data(), path.size(), r.subject.data(), r.subject.size()))
        return false;
  return true;
}

Verdict StaticDecider::net(std::string_view ip, uint16_t port) {
  ++net_calls_;
  for (const auto& r : nets_) {
    if (ip == r.subject && (r.port == 0 || r.port == port))
      return Verdict::denied(r.name, "connection to " + std::string(ip) + " is blocked");
  }
  return Verdict::allowed("allow-default");
}

}  // namespace agentsh::tracer
