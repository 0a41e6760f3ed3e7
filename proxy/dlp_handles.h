// unique_ptr owners for the Hyperscan and PCRE2 handles the DLP scanner holds.
// Header-only; each deleter accepts nullptr.
#pragma once

#include <hs/hs.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <memory>

namespace agentsh::dlp_handles {

struct HsDatabaseFree {
  void operator()(hs_database_t* p) const noexcept { hs_free_database(p); }
};
struct HsScratchFree {
  void operator()(hs_scratch_t* p) const noexcept { hs_free_scratch(p); }
};
struct HsCompileErrorFree {
  void operator()(hs_compile_error_t* p) const noexcept { hs_free_compile_error(p); }
};
struct Pcre2CodeFree {
  void operator()(pcre2_code* p) const noexcept { pcre2_code_free(p); }
};
struct Pcre2MatchDataFree {
  void operator()(pcre2_match_data* p) const noexcept { pcre2_match_data_free(p); }
};

using HsDatabase = std::unique_ptr<hs_database_t, HsDatabaseFree>;
using HsScratch = std::unique_ptr<hs_scratch_t, HsScratchFree>;
using HsCompileError = std::unique_ptr<hs_compile_error_t, HsCompileErrorFree>;
using Pcre2Code = std::unique_ptr<pcre2_code, Pcre2CodeFree>;
using Pcre2MatchData = std::unique_ptr<pcre2_match_data, Pcre2MatchDataFree>;

}  // namespace agentsh::dlp_handles
