// token::AdmissionTokenSigner::Verify (ES256): arbitrary text must never crash or throw, must
// never verify unless it carries a real ES256 signature by the ring's key, and must give the
// same answer with and without the verified-token cache.
//
// A fuzzer cannot forge ECDSA, so the checks behind the signature are reached by signing here,
// with the ring's own key (a fixed one, so that a crash reproduces), picked by the first byte:
//   0  the rest as a whole token
//   1  the rest as a payload under our header, signed
//   2  the rest as a header over a fixed payload, signed
//   3  claims built from the rest, which must survive Issue -> Verify
//   4  the rest as a payload under an HS256 header, "signed" with HMAC keyed by our public key
//      in every form a confused verifier might use: must never verify
//   5  the rest as a JWK (ParseJwk): never crashes; what parses round-trips through ToJwk

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "signing.hpp"
#include "token/admission_token.hpp"
#include "token/es256.hpp"
#include "token/hmac_sha256.hpp"
#include "token/key_ring.hpp"
#include "util/base64.hpp"
#include "util/clock.hpp"

namespace {

using vwr::token::AdmissionClaims;
using vwr::token::AdmissionTokenSigner;

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "token_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

struct Fixture {
  vwr::util::FakeClock clock{vwr::util::WallTime(std::chrono::seconds(1'800'000'000))};
  vwr::token::EcPrivateKey key = vwr::fuzz::FixedKey();
  vwr::token::KeyRing ring{clock, std::chrono::seconds(600)};
  AdmissionTokenSigner cached{ring, clock};
  AdmissionTokenSigner uncached{ring, clock,
                                vwr::token::VerifiedTokenCache::Options{.capacity = 0}};
  std::string header;

  Fixture() {
    ring.SetOwnKeys(vwr::token::SingleKeySet(key, 0));
    header = R"({"alg":"ES256","typ":"JWT","kid":")" + cached.key_id() + R"("})";
  }
};

Fixture& F() {
  static Fixture fixture;
  return fixture;
}

bool SameResult(const AdmissionTokenSigner::VerifyResult& a,
                const AdmissionTokenSigner::VerifyResult& b) {
  if (a.has_value() != b.has_value()) return false;
  return a ? *a == *b : a.error() == b.error();
}

// Verifies with and without each check, with and without the cache (twice with it, so that the
// second answer may come from the cache). Claims that verify must survive Issue -> Verify.
// Returns whether the token verified.
bool VerifyAll(std::string_view token, std::int64_t now) {
  Fixture& f = F();
  const AdmissionTokenSigner::VerifyResult plain = f.uncached.Verify(token);
  for (int pass = 0; pass < 2; ++pass) {
    if (!SameResult(plain, f.cached.Verify(token))) Fail("the cache changed the answer", token);
    if (!SameResult(f.uncached.Verify(token, now, std::string_view("a")),
                    f.cached.Verify(token, now, std::string_view("a")))) {
      Fail("the cache changed the answer to a checked verify", token);
    }
  }
  if (!plain) return false;
  const std::string again = f.uncached.Issue(*plain).value();
  if (again.size() > AdmissionTokenSigner::kMaxTokenLength) return true;
  const AdmissionTokenSigner::VerifyResult back = f.uncached.Verify(again);
  if (!back || !(*back == *plain)) Fail("verified claims do not round-trip", token);
  return true;
}

std::string SignSelf(std::string_view header_json, std::string_view payload_json) {
  return vwr::fuzz::SignTexts(F().key, header_json, payload_json);
}

std::string SignHmac(std::string_view secret, std::string_view header_json,
                     std::string_view payload_json) {
  std::string token = vwr::util::Base64UrlEncode(header_json);
  token += '.';
  vwr::util::Base64UrlEncodeAppend(payload_json, token);
  const vwr::token::HmacSha256 mac(
      std::span(reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()));
  token += '.';
  vwr::util::Base64UrlEncodeAppend(mac.Compute(token), token);
  return token;
}

void KeyConfusion(std::string_view payload) {
  Fixture& f = F();
  const vwr::token::EcPublicKey& pub = f.key.public_key();
  std::string xy(reinterpret_cast<const char*>(pub.x().data()), 32);
  xy.append(reinterpret_cast<const char*>(pub.y().data()), 32);
  const std::string secrets[] = {xy, "\x04" + xy, vwr::token::ToJwk(pub, f.cached.key_id()),
                                 f.ring.Current().jwks};
  const std::string hs256 = R"({"alg":"HS256","typ":"JWT","kid":")" + f.cached.key_id() + R"("})";
  for (const std::string& secret : secrets) {
    if (VerifyAll(SignHmac(secret, hs256, payload), 1'800'000'000)) {
      Fail("an HS256 token keyed with the public key verified", payload);
    }
    if (VerifyAll(SignHmac(secret, f.header, payload), 1'800'000'000)) {
      Fail("an HMAC under an ES256 header verified", payload);
    }
  }
}

void Jwk(std::string_view text) {
  auto parsed = vwr::token::ParseJwk(text);
  if (!parsed) return;
  auto again = vwr::token::ParseJwk(vwr::token::ToJwk(parsed->key, parsed->kid));
  if (!again || again->kid != parsed->kid || !(again->key == parsed->key)) {
    Fail("a parsed JWK does not round-trip", text);
  }
}

// Claim strings are ASCII here: the API only puts ASCII in them (room ids, hashes, session ids),
// and Issue does not promise to sign bytes that are not UTF-8.
std::string AsciiString(FuzzedDataProvider& in, std::size_t max_length) {
  std::string s = in.ConsumeRandomLengthString(max_length);
  for (char& c : s) c = static_cast<char>(c & 0x7F);
  return s;
}

void RoundTrip(FuzzedDataProvider& in) {
  AdmissionClaims claims;
  claims.iss = AsciiString(in, 32);
  claims.aud = AsciiString(in, 80);
  claims.sub = AsciiString(in, 80);
  claims.iat = in.ConsumeIntegral<std::int64_t>();
  claims.nbf = in.ConsumeIntegral<std::int64_t>();
  claims.exp = in.ConsumeIntegral<std::int64_t>();
  claims.jti = AsciiString(in, 80);
  const std::string token = F().cached.Issue(claims).value();
  const AdmissionTokenSigner::VerifyResult back = F().cached.Verify(token);
  if (token.size() > AdmissionTokenSigner::kMaxTokenLength) {
    if (back) Fail("token over the size limit verified", token);
    return;
  }
  if (!back) Fail("issued token does not verify", TokenErrorName(back.error()));
  if (!(*back == claims)) Fail("issued token verifies to other claims", token);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:  // arbitrary text
      VerifyAll(rest, 1'800'000'000);
      break;
    case 1:  // an arbitrary payload under our header, signed with our key
      VerifyAll(SignSelf(F().header, rest), 1'800'000'000);
      break;
    case 2: {  // an arbitrary header and a fixed payload, signed with our key
      const std::string payload =
          R"({"iss":"vwr","aud":"a","sub":"anon","iat":1,"nbf":1,"exp":2000000000,"jti":"x.1"})";
      VerifyAll(SignSelf(rest, payload), 1'800'000'000);
      break;
    }
    case 3: {
      FuzzedDataProvider in(data + 1, size - 1);
      RoundTrip(in);
      break;
    }
    case 4:
      KeyConfusion(rest);
      break;
    default:
      Jwk(rest);
  }
  return 0;
}
