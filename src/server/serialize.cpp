#include "server/serialize.hpp"

#include <charconv>
#include <cstring>
#include <optional>
#include <string_view>

namespace vwr::server {

namespace {

// `text` at `at`; the end of it.
char* Put(char* at, std::string_view text) {
  if (!text.empty()) std::memcpy(at, text.data(), text.size());  // (an empty view may be null)
  return at + text.size();
}

// The status line, the header fields (and a Content-Length field of `length` when set), the
// blank line that ends them, and `body`: sized first, then copied into place, reusing `out`'s
// capacity. An answer is a score of short pieces, and appending them one by one (a capacity
// check and a call each) cost more than all the copying.
void SerializeAnswer(const http::Response& res, std::optional<std::size_t> length,
                     std::string_view body, std::string& out) {
  constexpr std::string_view kLengthField = "Content-Length: ";
  char code[8];
  const char* code_end = std::to_chars(code, code + sizeof code, res.result_int()).ptr;
  char length_text[24];
  const char* length_end = length_text;
  if (length) {
    length_end = std::to_chars(length_text, length_text + sizeof length_text, *length).ptr;
  }
  const std::string_view reason = res.reason();

  std::size_t size = std::string_view("HTTP/1.1 ").size() +
                     static_cast<std::size_t>(code_end - code) + 1 + reason.size() + 2;
  for (const auto& field : res) size += field.name_string().size() + field.value().size() + 4;
  if (length) size += kLengthField.size() + static_cast<std::size_t>(length_end - length_text) + 2;
  size += 2 + body.size();

  out.clear();
  out.resize(size);
  char* at = out.data();
  at = Put(at, res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  at = Put(at, std::string_view(code, static_cast<std::size_t>(code_end - code)));
  *at++ = ' ';
  at = Put(at, reason);
  at = Put(at, "\r\n");
  for (const auto& field : res) {
    at = Put(at, field.name_string());
    at = Put(at, ": ");
    at = Put(at, field.value());
    at = Put(at, "\r\n");
  }
  if (length) {
    at = Put(at, kLengthField);
    at = Put(at, std::string_view(length_text, static_cast<std::size_t>(length_end - length_text)));
    at = Put(at, "\r\n");
  }
  at = Put(at, "\r\n");
  Put(at, body);
}

// Whether `res` has a Content-Length field: the few fields walked by their enum, where Beast's
// find() searches its tree comparing names case-insensitively (about 600 instructions a poll).
bool HasContentLength(const http::Response& res) {
  for (const auto& field : res) {
    if (field.name() == http::field::content_length) return true;
  }
  return false;
}

}  // namespace

void Serialize(const http::Response& res, std::string& out) {
  std::optional<std::size_t> length;
  if (res.result() != http::status::no_content && !HasContentLength(res)) {
    length = res.body().size();
  }
  SerializeAnswer(res, length, res.body(), out);
}

void SerializeStreamHead(http::Response& res, std::string& out) {
  res.body().clear();
  res.erase(http::field::content_length);
  if (res.version() == 11) {
    res.set(http::field::transfer_encoding, "chunked");
  } else {
    // HTTP/1.0 has no chunks: the stream's end is the connection's.
    res.keep_alive(false);
  }
  res.set(http::field::cache_control, "no-store");
  res.set("X-Accel-Buffering", "no");  // a proxy in front (nginx) passes each event at once
  SerializeAnswer(res, std::nullopt, {}, out);
}

}  // namespace vwr::server
