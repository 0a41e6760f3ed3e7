#include "proxy/dlp_scanner.h"

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "proxy/dlp_builtin_rules.h"
#include "proxy/dlp_digit_prefilter.h"
#include "proxy/dlp_pattern_cache.h"
#include "proxy/dlp_validators.h"

namespace agentsh::proxy {

using dlp_handles::HsCompileError;
using dlp_handles::HsDatabase;
using dlp_handles::HsScratch;
using dlp_handles::Pcre2Code;
using dlp_handles::Pcre2MatchData;

namespace {

// Bytes of context handed to PCRE2 beyond a window, so \b and friends at the window's
// end see the real next characters.
constexpr size_t kGuard = 64;

struct Hit {
  uint32_t rule;
  uint64_t end;
};

struct Candidate {
  size_t begin, end;  // the redacted span
  uint32_t rule;
};

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  if (pcre2_get_error_message(code, buf, sizeof buf) < 0) return "error " + std::to_string(code);
  return reinterpret_cast<const char*>(buf);
}

std::string rule_label(const DlpRule& r) {
  return "dlp pattern '" + r.name + "'";
}

// True if the pattern matches the empty string (at the start of an empty subject: the
// check that matters without Hyperscan's analysis).
bool matches_empty(const pcre2_code* code) {
  Pcre2MatchData md(pcre2_match_data_create(1, nullptr));
  return pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(""), 0, 0, 0, md.get(), nullptr) >= 0;
}

// Hyperscan's view of one rule: the expression it compiles, its flags, and the widths
// it reports. False if Hyperscan cannot take the expression even as a prefilter.
struct HsPlan {
  std::string expr;
  unsigned flags = 0;
  size_t min_width = 0, max_width = 0;  // max_width SIZE_MAX = unbounded
};

bool plan_for(const DlpRule& r, HsPlan* plan, std::string* error) {
  plan->expr = r.trigger.empty() ? r.regex : r.trigger;
  for (unsigned flags : {0u, unsigned(HS_FLAG_PREFILTER)}) {
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* raw_err = nullptr;
    if (hs_expression_info(plan->expr.c_str(), flags, &info, &raw_err) == HS_SUCCESS) {
      plan->flags = flags;
      plan->min_width = info->min_width;
      plan->max_width = info->max_width == UINT_MAX ? SIZE_MAX : info->max_width;
      free(info);  // allocated by Hyperscan's misc allocator (malloc by default)
      if (plan->min_width == 0 && r.trigger.empty()) {
        *error = rule_label(r) +
                 ": regex can match the empty string; make it match at "
                 "least one character";
        return false;
      }
      return true;
    }
    HsCompileError err(raw_err);
    std::string msg = err && err->message ? err->message : "unknown error";
    if (msg.find("empty") != std::string::npos) {
      *error = rule_label(r) +
               ": regex can match the empty string; make it match at least "
               "one character";
      return false;
    }
    if (flags == HS_FLAG_PREFILTER) {
      *error = rule_label(r) + ": the multi-pattern engine (Hyperscan) cannot use this " +
               "regex: " + msg + "; simplify it (no backreferences or recursion)";
      return false;
    }
  }
  return false;
}

int on_hit(unsigned int id, unsigned long long /*from*/, unsigned long long to,
           unsigned int /*flags*/, void* ctx) {
  static_cast<std::vector<Hit>*>(ctx)->push_back(Hit{id, to});
  return 0;
}

}  // namespace

struct DlpScanner::ScanState {
  HsScratch scratch;
  Pcre2MatchData md;
  std::vector<Hit> hits;
  std::vector<Candidate> cands;
  std::vector<dlp_digit_prefilter::Hit> digit_hits;
};

DlpScanner::~DlpScanner() = default;

std::unique_ptr<DlpScanner> DlpScanner::create(const DlpOptions& options, std::string* error) {
  std::vector<DlpRule> rules;
  // Custom patterns first: a user who names a pattern wants that name on its matches.
  for (const DlpPattern& p : options.custom) {
    if (p.name.empty() || p.regex.empty()) {
      *error = "dlp.custom_patterns: every pattern needs a name and a regex";
      return nullptr;
    }
    DlpRule r;
    r.name = p.name;
    r.display = p.display;
    if (r.display.empty())
      for (char c : p.name) r.display.push_back(c >= 'a' && c <= 'z' ? char(c - 32) : c);
    r.regex = p.regex;
    rules.push_back(std::move(r));
  }
  for (DlpRule& r : dlp_builtin_rules::rules(options.builtin)) rules.push_back(std::move(r));
  return create(std::move(rules), options.enabled, error, options.cache_dir, options.use_hyperscan);
}

std::unique_ptr<DlpScanner> DlpScanner::create(const Config& cfg, std::string* error) {
  DlpOptions options;
  if (!DlpOptions::from_config(cfg, &options, error)) return nullptr;
  return create(options, error);
}

std::unique_ptr<DlpScanner> DlpScanner::create(std::vector<DlpRule> rules, bool enabled,
                                               std::string* error, const std::string& cache_dir,
                                               bool use_hyperscan) {
  std::unique_ptr<DlpScanner> s(new DlpScanner());
  s->enabled_ = enabled;
  s->rules_ = std::move(rules);
  if (!enabled || s->rules_.empty()) return s;
  // Hyperscan needs SSSE3; without it every rule falls back to PCRE2 over the text.
  if (hs_valid_platform() != HS_SUCCESS) use_hyperscan = false;

  std::vector<HsPlan> plans(s->rules_.size());
  size_t min_all = SIZE_MAX;
  for (size_t i = 0; i < s->rules_.size(); ++i) {
    const DlpRule& r = s->rules_[i];
    const bool digits = r.digit_shape != DlpDigitShape::kNone;
    if ((!r.trigger.empty() || digits) && r.max_length == 0) {
      *error = rule_label(r) + ": a trigger needs an explicit max_length";
      return nullptr;
    }
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    Pcre2Code code(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(r.regex.data()), r.regex.size(), 0,
                                 &errcode, &erroff, nullptr));
    if (!code) {
      *error = rule_label(r) + ": invalid regex at offset " + std::to_string(erroff) + ": " +
               pcre2_message(errcode);
      return nullptr;
    }
    // JIT is an optimisation: if it is unavailable PCRE2 interprets, still correct.
    pcre2_jit_compile(code.get(), PCRE2_JIT_COMPLETE);
    uint32_t groups = 0;
    pcre2_pattern_info(code.get(), PCRE2_INFO_CAPTURECOUNT, &groups);
    if (r.redact_group < 0 || uint32_t(r.redact_group) > groups) {
      *error = rule_label(r) + ": redact_group " + std::to_string(r.redact_group) +
               " does not exist in the regex";
      return nullptr;
    }
    s->max_groups_ = std::max(s->max_groups_, groups + 1);
    if (digits) {
      s->digit_shapes_ |= dlp_digit_prefilter::bit(r.digit_shape);
      plans[i].min_width = 1;
    } else if (!use_hyperscan) {
      s->hs_rules_ = true;
      plans[i].min_width = 1;
      plans[i].max_width = kMaxMatchBytes;
      if (matches_empty(code.get())) {
        *error = rule_label(r) +
                 ": regex can match the empty string; make it match at least "
                 "one character";
        return nullptr;
      }
    } else if (!plan_for(r, &plans[i], error)) {
      return nullptr;
    } else {
      s->hs_rules_ = true;
    }

    CompiledRule c;
    c.code = std::move(code);
    c.trigger_inside = !r.trigger.empty() || digits;
    size_t max_len = r.max_length ? r.max_length : plans[i].max_width;
    c.max_len = std::min(max_len, kMaxMatchBytes);
    s->max_len_all_ = std::max(s->max_len_all_, c.max_len);
    uint32_t pcre_min = 0;
    pcre2_pattern_info(c.code.get(), PCRE2_INFO_MINLENGTH, &pcre_min);
    // Both are lower bounds of a match's length (a trigger matches inside a match).
    size_t min_len = std::max<size_t>(plans[i].min_width, pcre_min);
    min_all = std::min(min_all, std::max<size_t>(min_len, 1));
    s->compiled_.push_back(std::move(c));
  }
  s->min_len_all_ = min_all == SIZE_MAX ? 1 : min_all;

  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (s->rules_[i].digit_shape != DlpDigitShape::kNone) continue;
    exprs.push_back(plans[i].expr.c_str());
    flags.push_back(plans[i].flags);
    ids.push_back(unsigned(i));
  }
  // Digit-shaped rules only, or no Hyperscan: no database.
  if (exprs.empty() || !use_hyperscan) return s;
  std::string key = cache_dir.empty() ? "" : dlp_pattern_cache::key_for(exprs, flags, ids);
  s->db_ = dlp_pattern_cache::load(cache_dir, key);
  hs_database_t* db = s->db_.get();
  hs_compile_error_t* raw_err = nullptr;
  if (!db && hs_compile_multi(exprs.data(), flags.data(), ids.data(), unsigned(exprs.size()),
                              HS_MODE_BLOCK, nullptr, &db, &raw_err) != HS_SUCCESS) {
    HsCompileError err(raw_err);
    // err->expression indexes `exprs`; `ids` maps it back to the rule.
    std::string which = err && err->expression >= 0 && size_t(err->expression) < ids.size()
                            ? rule_label(s->rules_[ids[size_t(err->expression)]])
                            : std::string("dlp patterns");
    *error = which + ": Hyperscan could not compile the pattern set: " +
             (err && err->message ? err->message : "unknown error");
    return nullptr;
  }
  if (!s->db_) {
    s->db_.reset(db);
    dlp_pattern_cache::store(cache_dir, key, db);  // best effort
  }
  hs_scratch_t* scratch = nullptr;
  if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
    *error = "dlp: could not allocate Hyperscan scratch space (out of memory?)";
    return nullptr;
  }
  s->proto_scratch_.reset(scratch);
  return s;
}

std::unique_ptr<DlpScanner::ScanState> DlpScanner::acquire() const {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      auto st = std::move(pool_.back());
      pool_.pop_back();
      return st;
    }
  }
  auto st = std::make_unique<ScanState>();
  if (proto_scratch_) {
    hs_scratch_t* scratch = nullptr;
    if (hs_clone_scratch(proto_scratch_.get(), &scratch) != HS_SUCCESS) return nullptr;
    st->scratch.reset(scratch);
  }
  st->md.reset(pcre2_match_data_create(max_groups_, nullptr));
  if (!st->md) return nullptr;
  return st;
}

void DlpScanner::release(std::unique_ptr<ScanState> s) const {
  // Keep the pool from holding on to one huge scan's buffers forever.
  if (s->hits.capacity() > (1u << 16)) std::vector<Hit>().swap(s->hits);
  if (s->cands.capacity() > (1u << 12)) std::vector<Candidate>().swap(s->cands);
  if (s->digit_hits.capacity() > (1u << 16))
    std::vector<dlp_digit_prefilter::Hit>().swap(s->digit_hits);
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_.size() < 64) pool_.push_back(std::move(s));
}

std::vector<DlpFinding> DlpScanner::scan(std::string_view text) const {
  std::vector<DlpFinding> out;
  if (!enabled() || text.size() < min_len_all_) return out;
  std::unique_ptr<ScanState> st = acquire();
  if (!st) return out;  // allocation failure: nothing sane left to do but not crash
  st->hits.clear();
  st->cands.clear();

  // Hyperscan's block API takes an unsigned int length: scan huge buffers in slices
  // that overlap by the longest match so nothing is lost at a seam.
  const size_t n = text.size();
  constexpr size_t kSlice = size_t(1) << 30;
  bool whole_text = hs_rules_ && !db_;  // no Hyperscan: PCRE2 over everything
  for (size_t base = 0; db_ && base < n;) {
    size_t len = std::min(n - base, kSlice);
    size_t before = st->hits.size();
    if (hs_scan(db_.get(), text.data() + base, unsigned(len), 0, st->scratch.get(), on_hit,
                &st->hits) != HS_SUCCESS) {
      // Cannot happen with a valid database and scratch; if it does, do not let
      // secrets through: fall back to the slow, complete path.
      whole_text = true;
      st->hits.clear();
      break;
    }
    for (size_t i = before; i < st->hits.size(); ++i) st->hits[i].end += base;
    if (base + len >= n) break;
    base += len - std::min(len, max_len_all_ + kGuard);
  }
  if (digit_shapes_) {
    st->digit_hits.clear();
    dlp_digit_prefilter::scan(text, digit_shapes_, &st->digit_hits);
    for (const dlp_digit_prefilter::Hit& h : st->digit_hits)
      for (uint32_t rule = 0; rule < rules_.size(); ++rule)
        if (rules_[rule].digit_shape == h.shape) st->hits.push_back(Hit{rule, h.end});
  }
  if (st->hits.empty() && !whole_text) {
    release(std::move(st));
    return out;
  }
  // A database loaded from the cache is trusted only so far: never index past the rules.
  st->hits.erase(std::remove_if(st->hits.begin(), st->hits.end(),
                                [&](const Hit& h) { return h.rule >= rules_.size(); }),
                 st->hits.end());
  std::sort(st->hits.begin(), st->hits.end(), [](const Hit& a, const Hit& b) {
    return a.rule != b.rule ? a.rule < b.rule : a.end < b.end;
  });

  const auto* subj = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st->md.get());
  auto confirm = [&](uint32_t rule, size_t lo, size_t hi) {
    const CompiledRule& c = compiled_[rule];
    const DlpRule& r = rules_[rule];
    size_t limit = std::min(n, hi + kGuard);
    size_t pos = lo;
    while (pos < hi) {
      int rc = pcre2_match(c.code.get(), subj, limit, pos, 0, st->md.get(), nullptr);
      if (rc < 0) break;
      size_t mb = ov[0], me = ov[1];
      if (mb >= hi) break;
      if (me >= limit && limit < n) {
        // The match ran into the end of what PCRE2 was shown: let it see everything.
        rc = pcre2_match(c.code.get(), subj, n, mb, PCRE2_ANCHORED, st->md.get(), nullptr);
        if (rc < 0) {
          pos = mb + 1;
          continue;
        }
        me = ov[1];
      }
      size_t gb = mb, ge = me;
      if (r.redact_group > 0) {
        gb = ov[2 * r.redact_group];
        ge = ov[2 * r.redact_group + 1];
      }
      if (gb != PCRE2_UNSET && ge > gb && dlp_validators::validate(r.validator, text, mb, me, ge))
        st->cands.push_back(Candidate{gb, ge, rule});
      pos = me > mb ? me : mb + 1;
    }
  };
  if (whole_text)
    for (uint32_t rule = 0; rule < rules_.size(); ++rule)
      if (rules_[rule].digit_shape == DlpDigitShape::kNone) confirm(rule, 0, n);
  // One merged window per run of nearby candidate ends of the same rule.
  size_t i = 0;
  while (i < st->hits.size()) {
    uint32_t rule = st->hits[i].rule;
    const CompiledRule& c = compiled_[rule];
    size_t lo = 0, hi = 0;
    bool open = false;
    for (; i < st->hits.size() && st->hits[i].rule == rule; ++i) {
      size_t e = st->hits[i].end;
      size_t wlo = e > c.max_len ? e - c.max_len : 0;
      size_t whi = c.trigger_inside ? std::min(n, e + c.max_len) : e;
      if (open && wlo <= hi) {
        hi = std::max(hi, whi);
        continue;
      }
      if (open) confirm(rule, lo, hi);
      lo = wlo;
      hi = whi;
      open = true;
    }
    if (open) confirm(rule, lo, hi);
  }

  // Leftmost first, then longest, then rule order.
  std::sort(st->cands.begin(), st->cands.end(), [](const Candidate& a, const Candidate& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end > b.end;
    return a.rule < b.rule;
  });
  size_t last_end = 0;
  for (const Candidate& c : st->cands) {
    if (c.begin < last_end) continue;
    const DlpRule& r = rules_[c.rule];
    out.push_back(DlpFinding{r.name, r.display, c.begin, c.end - c.begin});
    last_end = c.end;
  }
  release(std::move(st));
  return out;
}

std::string DlpScanner::placeholder(std::string_view display) {
  std::string s = "[REDACTED:";
  s.append(display);
  s.push_back(']');
  return s;
}

std::string DlpScanner::apply(std::string_view text, const std::vector<DlpFinding>& findings) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const DlpFinding& f : findings) {
    if (f.offset < pos || f.offset + f.length > text.size()) continue;  // not ours: skip
    out.append(text.substr(pos, f.offset - pos));
    out.append(placeholder(f.display));
    pos = f.offset + f.length;
  }
  out.append(text.substr(pos));
  return out;
}

DlpRedaction DlpScanner::redact(std::string_view text) const {
  DlpRedaction r;
  r.findings = scan(text);
  if (r.findings.empty())
    r.text.assign(text);
  else
    r.text = apply(text, r.findings);
  return r;
}

}  // namespace agentsh::proxy
