// store::DecodeEvent on arbitrary bytes, as replay meets a damaged or hostile journal: it must
// never crash, and it accepts exactly what EncodeEvent produces (the codec promises one encoding
// per value), so whatever decodes re-encodes to the same bytes and decodes again to the same.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "store/event_codec.hpp"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "journal_fuzz: %s\n", what);
  std::abort();
}

std::span<const std::uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::optional<vwr::store::DecodedEvent> decoded = vwr::store::DecodeEvent({data, size});
  if (!decoded) return 0;
  if (decoded->room_id.size() > vwr::store::kMaxRoomIdBytes) Fail("room id over its limit");
  std::string encoded;
  vwr::store::EncodeEvent(decoded->room_id, decoded->event, encoded);
  if (encoded != std::string_view(reinterpret_cast<const char*>(data), size)) {
    Fail("decoded event re-encodes to other bytes");
  }
  const std::optional<vwr::store::DecodedEvent> again = vwr::store::DecodeEvent(Bytes(encoded));
  if (!again) Fail("re-encoded event does not decode");
  std::string encoded_again;
  vwr::store::EncodeEvent(again->room_id, again->event, encoded_again);
  if (again->room_id != decoded->room_id || encoded_again != encoded) {
    Fail("event decodes differently the second time");
  }
  return 0;
}
