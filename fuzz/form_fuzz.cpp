// tracer::ParseForm on arbitrary bytes, with the default limits and with small ones so that every
// limit is met often. What it returns must keep its promises: no more fields than the limit,
// keys and values within theirs, UTF-8 without NUL, and Find answering with the first field of a
// key. Bytes without '%', '+', '&' or '=' and that are UTF-8 without NUL must come back as they
// were sent.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "tracer/form.hpp"
#include "util/utf8.hpp"

namespace {

using vwr::tracer::FormFields;
using vwr::tracer::FormLimits;

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "form_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void Check(std::string_view body, const FormLimits& limits) {
  const auto form = vwr::tracer::ParseForm(body, limits);
  if (!form) {
    if (form.error().offset > body.size()) Fail("error offset past the input", body);
    (void)form.error().Message();
    return;
  }
  if (form->size() > limits.max_fields) Fail("more fields than the limit", body);
  for (const FormFields::Field& field : form->fields()) {
    if (field.key.size() > limits.max_key_bytes) Fail("key over the limit", body);
    if (field.value.size() > limits.max_value_bytes) Fail("value over the limit", body);
    for (const std::string* s : {&field.key, &field.value}) {
      if (s->find('\0') != std::string::npos) Fail("NUL in a field", body);
      if (!vwr::util::IsValidUtf8(*s)) Fail("field not UTF-8", body);
    }
    const std::optional<std::string_view> found = form->Find(field.key);
    if (!found) Fail("a key it returned is not found", body);
    for (const FormFields::Field& earlier : form->fields()) {
      if (earlier.key == field.key) {
        if (*found != earlier.value) Fail("Find does not answer with the first field", body);
        break;
      }
    }
  }
  if (body.find_first_of("%+&=") == std::string_view::npos && !body.empty() &&
      body.size() <= limits.max_key_bytes && body.find('\0') == std::string_view::npos &&
      vwr::util::IsValidUtf8(body)) {
    if (form->size() != 1 || form->fields()[0].key != body || !form->fields()[0].value.empty()) {
      Fail("plain text does not come back as one key", body);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  Check(body, FormLimits{});
  FormLimits small;
  small.max_fields = 3;
  small.max_key_bytes = 4;
  small.max_value_bytes = 8;
  Check(body, small);
  return 0;
}
