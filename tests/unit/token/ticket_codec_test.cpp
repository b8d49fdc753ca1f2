#include "token/ticket_codec.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "token/hmac_sha256.hpp"
#include "util/base64.hpp"
#include "util/random.hpp"

// Counts heap allocations so that tests can assert that Decode makes none. Replacing the global
// operator new affects the whole test binary, which only counts and otherwise behaves as usual.
namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

// GCC pairs the inlined malloc/free with the new/delete expressions and warns; the pairing is
// consistent by construction here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// Every form that the standard library may pair with these deletes goes through malloc as well:
// std::stable_sort takes its buffer with the nothrow form, and a sanitizer's own nothrow new would
// not match the free below.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace vwr::token {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

SecretKey RandomKey() {
  SecretKey key;
  util::SecureRandom(key.bytes);
  return key;
}

class TicketCodecTest : public ::testing::Test {
 protected:
  TicketCodec codec_{RandomKey()};
  TicketClaims claims_{
      .incarnation = 0x0123456789abcdefULL, .number = 1234, .frontier_at_join = 987};
};

TEST_F(TicketCodecTest, RoundTrips) {
  const std::string ticket = codec_.Encode("room-a", claims_);
  // 29 bytes: version, incarnation, two 2-byte varints, MAC.
  EXPECT_EQ(ticket.size(), 39u);
  EXPECT_EQ(codec_.Decode("room-a", ticket), claims_);
}

TEST_F(TicketCodecTest, RoundTripsExtremeValues) {
  for (const TicketClaims& claims :
       {TicketClaims{}, TicketClaims{kMax, kMax, kMax}, TicketClaims{1, 127, 128},
        TicketClaims{0, 1ULL << 63, (1ULL << 56) - 1}, TicketClaims{kMax, 0, 16383}}) {
    const std::string ticket = codec_.Encode("r", claims);
    EXPECT_LE(ticket.size(), 60u);
    EXPECT_EQ(codec_.Decode("r", ticket), claims) << ticket;
  }
}

TEST_F(TicketCodecTest, EncodingIsDeterministicAndUrlSafe) {
  const std::string ticket = codec_.Encode("room-a", claims_);
  EXPECT_EQ(codec_.Encode("room-a", claims_), ticket);
  EXPECT_EQ(ticket.find_first_not_of(kAlphabet), std::string::npos);
}

TEST_F(TicketCodecTest, EverySingleCharacterChangeIsRejected) {
  for (const TicketClaims& claims : {claims_, TicketClaims{kMax, kMax, kMax}, TicketClaims{}}) {
    const std::string ticket = codec_.Encode("room-a", claims);
    for (std::size_t pos = 0; pos < ticket.size(); ++pos) {
      for (char replacement : kAlphabet) {
        if (replacement == ticket[pos]) continue;
        std::string changed = ticket;
        changed[pos] = replacement;
        EXPECT_FALSE(codec_.Decode("room-a", changed).has_value()) << changed;
      }
    }
  }
}

TEST_F(TicketCodecTest, TicketOfOneRoomIsRejectedInAnother) {
  const std::string ticket = codec_.Encode("a", claims_);
  EXPECT_TRUE(codec_.Decode("a", ticket).has_value());
  EXPECT_FALSE(codec_.Decode("b", ticket).has_value());
  EXPECT_FALSE(codec_.Decode("a ", ticket).has_value());
  EXPECT_FALSE(codec_.Decode("", ticket).has_value());
  EXPECT_FALSE(codec_.Decode(std::string_view("a\0", 2), ticket).has_value());
}

TEST_F(TicketCodecTest, RejectsTruncatedExtendedEmptyGarbageAndOversized) {
  const std::string ticket = codec_.Encode("room-a", claims_);
  for (std::size_t length = 0; length < ticket.size(); ++length) {
    EXPECT_FALSE(codec_.Decode("room-a", ticket.substr(0, length)).has_value()) << length;
    EXPECT_FALSE(codec_.Decode("room-a", ticket.substr(ticket.size() - length)).has_value());
  }
  for (std::string_view suffix : {"A", "AA", "AAA", "AAAA", "=", "==", ".", " "}) {
    EXPECT_FALSE(codec_.Decode("room-a", ticket + std::string(suffix)).has_value()) << suffix;
  }
  EXPECT_FALSE(codec_.Decode("room-a", "").has_value());
  EXPECT_FALSE(codec_.Decode("room-a", "not a ticket at all, not at all, really not!").has_value());
  EXPECT_FALSE(codec_.Decode("room-a", std::string(42, 'A')).has_value());
  EXPECT_FALSE(codec_.Decode("room-a", std::string(128, 'A')).has_value());
  EXPECT_FALSE(codec_.Decode("room-a", std::string(129, 'A')).has_value());
  EXPECT_FALSE(codec_.Decode("room-a", std::string(100000, 'A')).has_value());
}

// Builds a ticket with a valid MAC over an arbitrary payload, using the codec's documented key
// derivation, to check that Decode enforces the structure even when the MAC is right.
std::string Sign(const SecretKey& key, std::string_view room, const std::string& payload) {
  const HmacSha256 mac(DeriveKey(key, "vwr.ticket.v1").bytes);
  HmacSha256::Stream stream = mac.Begin();
  stream.Update(room);
  stream.Update(std::string_view("\0", 1));
  stream.Update(payload);
  const HmacSha256::Digest digest = stream.Finish();
  return util::Base64UrlEncode(payload + std::string(digest.begin(), digest.begin() + 16));
}

TEST(TicketCodec, EnforcesStructureUnderAValidMac) {
  const SecretKey key = RandomKey();
  const TicketCodec codec(key);
  const std::string incarnation("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  // Sanity: the helper reproduces real tickets.
  const std::string good = Sign(key, "r", "\x01" + incarnation + "\x05\x81\x01");
  EXPECT_EQ(codec.Decode("r", good), (TicketClaims{0x0102030405060708ULL, 5, 129}));
  EXPECT_EQ(codec.Encode("r", TicketClaims{0x0102030405060708ULL, 5, 129}), good);

  const std::string rejected[] = {
      "\x02" + incarnation + std::string("\x05\x01", 2),            // unknown version
      "\x01" + incarnation + std::string("\x05\x01\x00", 3),        // trailing byte
      "\x01" + incarnation + std::string("\x85\x00\x01", 3),        // redundant varint byte
      "\x01" + incarnation + std::string("\x05\x80\x80\x00", 4),    // same, longer
      "\x01" + incarnation + "\x05",                                // missing frontier
      "\x01" + incarnation + "\x05\x81",                            // truncated varint
      "\x01" + incarnation + std::string(9, '\xff') + "\x02\x01",   // varint beyond 64 bits
      "\x01" + incarnation + std::string(10, '\xff') + "\x01\x01",  // 11-byte varint
  };
  for (const std::string& payload : rejected) {
    EXPECT_FALSE(codec.Decode("r", Sign(key, "r", payload)).has_value()) << util::HexEncode(
        std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
  }
  // The largest value is accepted: nine 0xff groups then 0x01.
  const std::string max_number = std::string(9, '\xff') + "\x01";
  EXPECT_EQ(
      codec.Decode("r", Sign(key, "r", "\x01" + incarnation + max_number + std::string(1, '\0'))),
      (TicketClaims{0x0102030405060708ULL, kMax, 0}));
}

TEST_F(TicketCodecTest, DecodeDoesNotAllocate) {
  const std::string ticket = codec_.Encode("room-a", claims_);
  std::string tampered = ticket;
  tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
  const std::size_t before = g_allocations.load();
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(codec_.Decode("room-a", ticket).has_value());
    EXPECT_FALSE(codec_.Decode("room-a", tampered).has_value());
  }
  EXPECT_EQ(g_allocations.load(), before);
}

TEST_F(TicketCodecTest, DecodesConcurrently) {
  const std::string ticket = codec_.Encode("room-a", claims_);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(codec_.Decode("room-a", ticket), claims_);
        EXPECT_EQ(codec_.Encode("room-a", claims_), ticket);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

TEST_F(TicketCodecTest, DifferentKeysRejectEachOther) {
  const TicketCodec other(RandomKey());
  EXPECT_FALSE(other.Decode("room-a", codec_.Encode("room-a", claims_)).has_value());
  EXPECT_FALSE(codec_.Decode("room-a", other.Encode("room-a", claims_)).has_value());
}

TEST_F(TicketCodecTest, SameKeyDecodesAcrossInstances) {
  const SecretKey key = RandomKey();
  const TicketCodec a(key), b(key);
  EXPECT_EQ(b.Decode("room-a", a.Encode("room-a", claims_)), claims_);
}

}  // namespace
}  // namespace vwr::token
