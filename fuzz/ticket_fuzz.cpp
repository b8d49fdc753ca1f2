// token::TicketCodec: Decode of arbitrary text must never crash, and a ticket decodes only as the
// one text its claims encode to (the codec promises exactly one text per claims). Forged input
// almost never passes the MAC, so the same bytes also drive Encode: claims and a room taken from
// the input must survive Encode -> Decode, and that ticket must not decode for another room or
// with a byte changed.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "token/key.hpp"
#include "token/ticket_codec.hpp"

namespace {

using vwr::token::TicketClaims;
using vwr::token::TicketCodec;

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "ticket_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

const TicketCodec& Codec() {
  static const TicketCodec codec(vwr::token::SecretKey{{1, 2, 3, 4}});
  return codec;
}

void DecodeArbitrary(std::string_view text) {
  for (std::string_view room : {"a", "default"}) {
    const std::optional<TicketClaims> claims = Codec().Decode(room, text);
    if (!claims) continue;
    if (Codec().Encode(room, *claims) != text) Fail("decoded ticket re-encodes differently", text);
  }
}

void RoundTrip(FuzzedDataProvider& in) {
  TicketClaims claims;
  claims.incarnation = in.ConsumeIntegral<std::uint64_t>();
  claims.number = in.ConsumeIntegral<std::uint64_t>();
  claims.frontier_at_join = in.ConsumeIntegral<std::uint64_t>();
  std::string room = in.ConsumeRandomLengthString(80);
  if (room.find('\0') != std::string::npos) return;  // room ids never hold NUL (config checks)
  const std::string ticket = Codec().Encode(room, claims);
  if (ticket.size() > TicketCodec::kMaxTicketLength) Fail("ticket over its own limit", ticket);
  const std::optional<TicketClaims> back = Codec().Decode(room, ticket);
  if (!back || !(*back == claims)) Fail("ticket does not round-trip", ticket);
  if (Codec().Decode(room + "x", ticket)) Fail("ticket valid for another room", ticket);
  if (!ticket.empty()) {
    std::string altered = ticket;
    const std::size_t at = in.ConsumeIntegralInRange<std::size_t>(0, altered.size() - 1);
    const char with = static_cast<char>(in.ConsumeIntegral<std::uint8_t>());
    if (altered[at] != with) {
      altered[at] = with;
      if (Codec().Decode(room, altered)) Fail("altered ticket still decodes", altered);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  DecodeArbitrary(std::string_view(reinterpret_cast<const char*>(data), size));
  FuzzedDataProvider in(data, size);
  RoundTrip(in);
  return 0;
}
