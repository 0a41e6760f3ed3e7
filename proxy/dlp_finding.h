// What the DLP scanner reports: one finding per redacted span, and the result of
// redacting a buffer. Plain values; copy freely.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace agentsh::proxy {

struct DlpFinding {
  std::string detector;  // rule name: "aws_access_key", "email", or a custom pattern's name
  std::string display;   // label in the placeholder: [REDACTED:<display>]
  size_t offset = 0;     // byte offset of the redacted span in the scanned input
  size_t length = 0;     // byte length of the redacted span
};

struct DlpRedaction {
  std::string text;                  // the input with every finding replaced
  std::vector<DlpFinding> findings;  // sorted by offset, non-overlapping; offsets refer to
                                     // the INPUT, not to `text`
};

}  // namespace agentsh::proxy
