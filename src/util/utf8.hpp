#pragma once

#include <cstddef>
#include <string_view>

// UTF-8 as RFC 3629 defines it: the one validator and decoder behind everything that checks text
// (the TRACER form fields, the configuration's page templates and messages, log escaping).
namespace vwr::util {

// The length (2 to 4) of the well-formed UTF-8 sequence that starts at text[i], a byte of 0x80 or
// more, with its code point in `code`; 0 when it is not one: a continuation byte first, C0, C1 or
// F5..FF, an overlong form, a surrogate, a value past U+10FFFF, or a sequence cut short. `code`
// is unspecified then.
std::size_t DecodeUtf8Sequence(std::string_view text, std::size_t i, char32_t& code);

// Whether `text` is well-formed UTF-8 throughout.
bool IsValidUtf8(std::string_view text);

}  // namespace vwr::util
