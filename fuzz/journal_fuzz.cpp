// store::DecodeEvent on arbitrary bytes, as replay meets a damaged or hostile journal: it must
// never crash, and it accepts exactly what EncodeEvent produces (the codec promises one encoding
// per value), so whatever decodes re-encodes to the same bytes and decodes again to the same.
// A decoded draw (TicketsDrawn) is also replayed into a room, which must take it only as a true
// permutation of tickets it holds, or refuse it and change nothing.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/room.hpp"
#include "store/event_codec.hpp"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "journal_fuzz: %s\n", what);
  std::abort();
}

std::span<const std::uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Replays `drawn` into a paused room with ten tickets waiting: whatever it took must map every
// place of its range to a ticket of the range and back.
void ReplayDraw(const vwr::core::TicketsDrawn& drawn) {
  vwr::core::Policy paused;
  paused.mode = vwr::core::Mode::kPause;
  const vwr::core::Instant now{vwr::util::TimePoint{}, 0};
  vwr::core::Room room("a", paused, 1, now.mono);
  for (int i = 0; i < 10; ++i) room.Join("", now);
  room.Apply(drawn, now);
  if (!room.drawn()) return;
  const vwr::core::DrawnOrder& d = *room.drawn();
  if (d.first() != drawn.first || d.order() != drawn.order) Fail("the room took another draw");
  if (d.first() <= room.frontier() || d.last() > room.last_issued()) Fail("draw out of range");
  for (std::uint64_t place = d.first(); place <= d.last(); ++place) {
    const std::uint64_t ticket = room.TicketOf(place);
    if (!d.Covers(ticket) || room.PlaceOf(ticket) != place) Fail("draw is not a permutation");
  }
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
  if (const auto* drawn = std::get_if<vwr::core::TicketsDrawn>(&decoded->event)) ReplayDraw(*drawn);
  return 0;
}
