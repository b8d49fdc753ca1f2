#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// application/x-www-form-urlencoded, for the TRACER compatibility API: its clients send their
// fields (host, ip, loginId, port, pageUrl, userAgent) as a form body or a query string.
namespace vwr::tracer {

// What one form may hold. Lengths are of the decoded bytes. A client that needs more is not a
// client of this API, so anything beyond is refused rather than truncated.
struct FormLimits {
  std::size_t max_fields = 64;
  std::size_t max_key_bytes = 64;
  std::size_t max_value_bytes = 4096;  // a pageUrl or userAgent with room to spare
};

enum class FormErrorCode {
  kBadEscape,      // '%' not followed by two hex digits ("%G1", a trailing "%4" or "%")
  kNulByte,        // a key or value decodes to text with a NUL byte in it
  kInvalidUtf8,    // a key or value does not decode to well-formed UTF-8
  kTooManyFields,  // more than FormLimits::max_fields pairs
  kKeyTooLong,     // a decoded key longer than FormLimits::max_key_bytes
  kValueTooLong,   // a decoded value longer than FormLimits::max_value_bytes
};

// Why a form was refused, and where: `offset` is the byte offset in the input of the start of
// the key=value pair at fault, so that the message can point a client at it.
struct FormError {
  FormErrorCode code = FormErrorCode::kBadEscape;
  std::size_t offset = 0;

  // Stable snake_case name for logs and metrics labels, e.g. "bad_escape".
  std::string_view name() const;
  // For an error answer, e.g. "bad percent escape in the field at byte 12".
  std::string Message() const;
  bool operator==(const FormError&) const = default;
};

// Makes boost::system::result<T, FormError>::value() usable (it throws std::invalid_argument).
// Request-path code should test the result and read error() instead.
[[noreturn]] void throw_exception_from_error(const FormError& error,
                                             const boost::source_location& location);

// The decoded fields of one form, in the order they were sent. Duplicate keys are all kept in
// fields(); Find answers with the first one, so a client cannot override a field by appending a
// second copy after whatever put the first one there. Lookups are linear: a form holds at most
// FormLimits::max_fields fields and a handful are read.
class FormFields {
 public:
  struct Field {
    std::string key;
    std::string value;
    bool operator==(const Field&) const = default;
  };

  // The value of the first field named `key`; nullopt when there is none. The view is valid
  // while this object lives unchanged.
  std::optional<std::string_view> Find(std::string_view key) const;
  bool Contains(std::string_view key) const { return Find(key).has_value(); }

  // Adds `later`'s fields after these, so that Find answers with a field of this form when both
  // have it (a TRACER call's form body before its query string: the body wins).
  void Append(FormFields later);

  const std::vector<Field>& fields() const { return fields_; }
  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

 private:
  friend boost::system::result<FormFields, FormError> ParseForm(std::string_view,
                                                                const FormLimits&);
  std::vector<Field> fields_;
};

// Parses a form body, or a query string without its '?' (QueryOf), walking its pairs with
// http::QueryPairs:
//
//   form  = pair *( "&" pair )
//   pair  = key [ "=" value ]     split at the first '=': "a=1=2" is a = "1=2"
//
// '+' decodes to a space and %XX (either case of hex digit) to the byte XX, in keys and values
// alike. Empty pairs ("a=1&&b=2", a leading or trailing '&') are skipped and do not count
// against max_fields; a key without '=' is that key with an empty value; "=v" is the empty key.
// Every decoded key and value must be well-formed UTF-8 (no overlong forms, no surrogates,
// nothing past U+10FFFF) without NUL, so what reaches a handler, a log line or the store is
// text. No character is refused before decoding: clients that send a space or a raw UTF-8 byte
// unescaped are served as browsers serve them. The first problem found, in input order, is the
// one reported. Never throws except std::bad_alloc; linear in the input's length.
boost::system::result<FormFields, FormError> ParseForm(std::string_view body,
                                                       const FormLimits& limits = {});

}  // namespace vwr::tracer
