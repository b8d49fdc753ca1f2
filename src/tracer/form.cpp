#include "tracer/form.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "http/request_parts.hpp"
#include "util/utf8.hpp"

namespace vwr::tracer {
namespace {

// Decodes one key or value into `out` and checks what it decodes to. `raw` is at most
// 3 * max bytes when the decoded text can fit (every decoded byte takes 1 to 3 input bytes), so
// a long value is refused before anything is allocated for it. Decoded in place: one string per
// key or value, none when it is short enough for the string itself.
std::optional<FormErrorCode> DecodePart(std::string_view raw, std::size_t max, bool is_key,
                                        std::string& out) {
  const FormErrorCode too_long = is_key ? FormErrorCode::kKeyTooLong : FormErrorCode::kValueTooLong;
  if (raw.size() / 3 > max) return too_long;
  out.clear();
  out.reserve(raw.size());
  if (!http::PercentDecodeAppend(raw, /*plus_is_space=*/true, out)) {
    return FormErrorCode::kBadEscape;
  }
  if (out.size() > max) return too_long;
  if (out.find('\0') != std::string::npos) return FormErrorCode::kNulByte;
  if (!util::IsValidUtf8(out)) return FormErrorCode::kInvalidUtf8;
  return std::nullopt;
}

}  // namespace

std::string_view FormError::name() const {
  switch (code) {
    case FormErrorCode::kBadEscape:
      return "bad_escape";
    case FormErrorCode::kNulByte:
      return "nul_byte";
    case FormErrorCode::kInvalidUtf8:
      return "invalid_utf8";
    case FormErrorCode::kTooManyFields:
      return "too_many_fields";
    case FormErrorCode::kKeyTooLong:
      return "key_too_long";
    case FormErrorCode::kValueTooLong:
      return "value_too_long";
  }
  return "unknown";
}

std::string FormError::Message() const {
  std::string what;
  switch (code) {
    case FormErrorCode::kBadEscape:
      what = "bad percent escape (% must be followed by two hex digits)";
      break;
    case FormErrorCode::kNulByte:
      what = "NUL byte";
      break;
    case FormErrorCode::kInvalidUtf8:
      what = "text that is not UTF-8";
      break;
    case FormErrorCode::kTooManyFields:
      what = "one field too many";
      break;
    case FormErrorCode::kKeyTooLong:
      what = "key too long";
      break;
    case FormErrorCode::kValueTooLong:
      what = "value too long";
      break;
  }
  return what + " in the field at byte " + std::to_string(offset);
}

void throw_exception_from_error(const FormError& error,
                                const boost::source_location& /*location*/) {
  throw std::invalid_argument("malformed form: " + error.Message());
}

std::optional<std::string_view> FormFields::Find(std::string_view key) const {
  for (const Field& field : fields_) {
    if (field.key == key) return std::string_view(field.value);
  }
  return std::nullopt;
}

void FormFields::Append(FormFields later) {
  fields_.insert(fields_.end(), std::make_move_iterator(later.fields_.begin()),
                 std::make_move_iterator(later.fields_.end()));
}

boost::system::result<FormFields, FormError> ParseForm(std::string_view body,
                                                       const FormLimits& limits) {
  FormFields form;
  if (body.empty()) return form;  // (a TRACER call's query string, usually)
  form.fields_.reserve(8);        // a TRACER call has six fields
  http::QueryPairs pairs(body);
  while (const std::optional<http::QueryPairs::Pair> pair = pairs.Next()) {
    if (form.fields_.size() == limits.max_fields) {
      return FormError{FormErrorCode::kTooManyFields, pair->offset};
    }
    FormFields::Field field;
    if (auto error = DecodePart(pair->key, limits.max_key_bytes, /*is_key=*/true, field.key)) {
      return FormError{*error, pair->offset};
    }
    if (auto error =
            DecodePart(pair->value, limits.max_value_bytes, /*is_key=*/false, field.value)) {
      return FormError{*error, pair->offset};
    }
    form.fields_.push_back(std::move(field));
  }
  return form;
}

}  // namespace vwr::tracer
