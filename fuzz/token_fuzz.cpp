// token::AdmissionTokenSigner::Verify: arbitrary text must never crash or throw, and must only
// verify when it is exactly what Issue makes for its claims (Issue is deterministic and the
// signature covers the header and payload text).
//
// A fuzzer cannot forge the HMAC, so the claim checks behind it are reached two more ways, picked
// by the first byte: the rest of the input as a payload that this target signs itself with the
// signer's key, and claims built from the input that must survive Issue -> Verify.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "token/admission_token.hpp"
#include "token/hmac_sha256.hpp"
#include "token/key.hpp"
#include "util/base64.hpp"

namespace {

using vwr::token::AdmissionClaims;
using vwr::token::AdmissionTokenSigner;

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "token_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

const vwr::token::SecretKey kMaster{{9, 8, 7}};
// Must match the label in admission_token.cpp; if it drifts, the self-signed tokens below
// merely stop verifying (lower coverage, no false crash).
constexpr std::string_view kKeyLabel = "vwr.admission.hs256.v1";

const AdmissionTokenSigner& Signer() {
  static const AdmissionTokenSigner signer(kMaster, "k1");
  return signer;
}

// Verifies with and without each check. Claims that verify must survive Issue -> Verify: a
// token that verifies need not be Issue's own text (another key order, unknown claims), but what
// it asserts must be issuable.
void VerifyAll(std::string_view token, std::int64_t now) {
  const AdmissionTokenSigner::VerifyResult plain = Signer().Verify(token);
  (void)Signer().Verify(token, now);
  (void)Signer().Verify(token, now, std::string_view("a"));
  if (!plain) return;
  const std::string again = Signer().Issue(*plain);
  if (again.size() > AdmissionTokenSigner::kMaxTokenLength) return;
  const AdmissionTokenSigner::VerifyResult back = Signer().Verify(again);
  if (!back || !(*back == *plain)) Fail("verified claims do not round-trip", token);
}

std::string SignSelf(std::string_view header_json, std::string_view payload_json) {
  static const vwr::token::HmacSha256 mac(vwr::token::DeriveKey(kMaster, kKeyLabel).bytes);
  std::string token = vwr::util::Base64UrlEncode(header_json);
  token += '.';
  vwr::util::Base64UrlEncodeAppend(payload_json, token);
  const vwr::token::HmacSha256::Digest signature = mac.Compute(token);
  token += '.';
  vwr::util::Base64UrlEncodeAppend(signature, token);
  return token;
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
  const std::string token = Signer().Issue(claims);
  const AdmissionTokenSigner::VerifyResult back = Signer().Verify(token);
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
  switch (data[0] % 4) {
    case 0:  // arbitrary text
      VerifyAll(rest, 1'800'000'000);
      break;
    case 1:  // an arbitrary payload under our header, signed with our key
      VerifyAll(SignSelf(R"({"alg":"HS256","typ":"JWT","kid":"k1"})", rest), 1'800'000'000);
      break;
    case 2: {  // an arbitrary header and a fixed payload, signed with our key
      const std::string payload =
          R"({"iss":"vwr","aud":"a","sub":"anon","iat":1,"nbf":1,"exp":2000000000,"jti":"x.1"})";
      VerifyAll(SignSelf(rest, payload), 1'800'000'000);
      break;
    }
    default: {
      FuzzedDataProvider in(data + 1, size - 1);
      RoundTrip(in);
    }
  }
  return 0;
}
