// Is a chunk of output binary (a tar stream, an image, compressed data)? Redaction
// changes lengths, which would corrupt such formats, so binary data passes untouched.
// Pure function; thread-safe.
#pragma once

#include <string_view>

namespace agentsh::dlp_binary {

// True if `chunk` contains a NUL byte, or if more than 30 % of its bytes are invalid
// UTF-8 or control characters other than \t \n \r \f \v \b and ESC (terminal colours).
// A multi-byte sequence cut at either end of the chunk is not held against it: output
// arrives in arbitrary pieces.
bool looks_binary(std::string_view chunk);

}  // namespace agentsh::dlp_binary
