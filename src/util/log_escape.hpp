#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vwr::util {

// `text` (anything a client sent: an identity, a header, a path) made safe to put in one log
// line: it can neither start a line of its own nor drive the terminal of whoever reads the log.
//   - printable ASCII stays as it is, except `\` -> `\\` and `"` -> `\"` (so that a caller may
//     wrap the value in quotes and it cannot close them);
//   - newline, carriage return and tab -> `\n`, `\r`, `\t`; other C0 controls and DEL -> `\xNN`;
//   - well-formed UTF-8 stays (Korean names are readable), except the code points that move
//     lines or the terminal or reorder text: C1 controls (U+0080..U+009F, which some terminals
//     take as escape sequences), U+2028 and U+2029 (line and paragraph separators) and the
//     bidirectional controls (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) -> `\u{XXXX}`;
//   - a byte that is not part of well-formed UTF-8 -> `\xNN`.
// At most `max_bytes` bytes of `text` are shown (cut before a character, never inside one),
// followed by `...(+N bytes)` when some were left out: a 64 KiB value is one line of a few
// hundred bytes. Allocates the result; meant for log lines, which are rate-limited.
std::string LogEscaped(std::string_view text, std::size_t max_bytes = 256);

// The same for JSON text this service wrote (an error answer's body, which may quote what a
// client sent): its quotes and backslashes are left as they are, for a readable line; JSON
// itself already escapes every control character, and what could still move the line or the
// terminal (C1 controls, line separators, bidirectional controls, bytes that are not UTF-8) is
// escaped as above.
std::string LogEscapedJson(std::string_view json, std::size_t max_bytes = 256);

}  // namespace vwr::util
