#include "agentsh/policy_context.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "agentsh/project_root.h"
#include "policy/loader.h"
#include "policy/loader_cache.h"

namespace agentsh {

bool load_policy_context(const ContextRequest& req, PolicyContext* out, std::string* error) {
  ConfigLoad cl = load_config(req.config_path);
  if (!cl.ok) {
    *error = "config error: " + cl.error;
    return false;
  }
  out->cfg = cl.config;
  out->warnings = cl.warnings;

  out->session_id = req.session_id;
  if (!req.session_id.empty()) {
    std::string err;
    out->session = SessionStore(out->cfg.sessions_dir).load(req.session_id, &err);
    if (!out->session && req.session_required) {
      *error = err;
      return false;
    }
  }

  std::string ws = req.workspace;
  if (ws.empty() && out->session) ws = out->session->workspace;
  if (ws.empty()) {
    char buf[PATH_MAX];
    ws = getcwd(buf, sizeof buf) ? buf : "/";
  }
  char real[PATH_MAX];
  if (!realpath(ws.c_str(), real)) {
    *error = "workspace " + ws + ": " + strerror(errno);
    return false;
  }
  out->workspace = real;

  ProjectRoots roots;
  if (out->session && out->session->workspace == out->workspace &&
      !out->session->project_root.empty()) {
    roots.project_root = out->session->project_root;
    roots.git_root = out->session->git_root;
  } else {
    roots = detect_project_roots(out->workspace);
  }
  out->vars["PROJECT_ROOT"] = roots.project_root;
  out->vars["GIT_ROOT"] = roots.git_root.empty() ? roots.project_root : roots.git_root;
  out->vars["WORKSPACE"] = out->workspace;
  const char* home = getenv("HOME");
  out->vars["HOME"] = home && *home ? home : "/root";
  const char* tmp = getenv("TMPDIR");
  out->vars["TMPDIR"] = tmp && *tmp ? tmp : "/tmp";

  std::string arg = req.policy_arg;
  if (arg.empty() && out->session) arg = out->session->policy;
  std::string text, err;
  if (!resolve_policy(out->cfg, arg, &out->policy_origin, &text, &err)) {
    *error = err;
    return false;
  }
  if (req.use_policy_cache) out->policy_cache_dir = policy_cache_dir(out->cfg);
  policy::LoadResult lr = policy::loader_cache::load_policy_text_cached(text, out->policy_origin,
                                                                        out->policy_cache_dir);
  for (const auto& w : lr.warnings) out->warnings.push_back(w.format());
  if (!lr.ok) {
    *error = "policy error: " +
             (lr.errors.empty() ? std::string("invalid policy") : lr.errors[0].format());
    for (size_t i = 1; i < lr.errors.size(); ++i)
      *error += "\npolicy error: " + lr.errors[i].format();
    return false;
  }
  out->policy = std::move(lr.policy);
  return true;
}

}  // namespace agentsh
