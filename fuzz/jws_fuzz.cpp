// jwt::VerifyCompact, the one verification of a compact JWS behind admission tokens, entry passes
// and the platform's user tokens. Every input is verified several ways, and they must agree:
//
//   reference   a plain reading written here from RFC 7515 (split, decode, parse on the heap, the
//               checks in the documented order, the key's own ES256 check): the same verdict and,
//               when it verifies, the same payload
//   fast path   with the active key's header given as known (what admission tokens do): the same
//               verdict as reading the header
//   two keys    the key ring's EcPublicKey and the same key read back from the ring's JWKS as a
//               JwsPublicKey (another OpenSSL path): the same verdict
//   callers     AdmissionTokenSigner::Verify and EntryPassCodec::Verify report exactly their
//               codes for VerifyCompact's verdict (TokenErrorOf, PassErrorOf), and accept only
//               what it accepts
//
// A fuzzer cannot forge ECDSA, so the checks behind the signature are reached by signing here with
// the ring's fixed key; the first byte picks how the rest is used:
//   0  the whole token
//   1  a payload, under our header, signed
//   2  a header, over a fixed payload, signed
//   3  a header of fuzzed fields (alg, typ, kid, crit) over a fuzzed payload, signed
//   4  a token signed here with one byte then changed (position and value from the input): never
//      verifies

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signing.hpp"
#include "token/admission_token.hpp"
#include "token/entry_pass.hpp"
#include "token/es256.hpp"
#include "token/jws.hpp"
#include "token/key_ring.hpp"
#include "util/base64.hpp"
#include "util/clock.hpp"

namespace {

namespace json = boost::json;
using vwr::token::JwsAlgorithm;
using vwr::token::PassError;
using vwr::token::TokenError;
using vwr::token::jwt::JwsError;
using vwr::token::jwt::JwsOptions;
using vwr::token::jwt::VerifyCompact;

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "jws_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

constexpr std::size_t kMaxLength = 4096;
constexpr JwsAlgorithm kEs256Only[] = {JwsAlgorithm::kEs256};

struct Fixture {
  vwr::util::FakeClock clock{vwr::util::WallTime(std::chrono::seconds(1'800'000'000))};
  vwr::token::EcPrivateKey key = vwr::fuzz::FixedKey();
  vwr::token::KeyRing ring{clock, std::chrono::seconds(600)};
  vwr::token::AdmissionTokenSigner tokens{ring, clock,
                                          vwr::token::VerifiedTokenCache::Options{.capacity = 0}};
  vwr::token::EntryPassCodec passes{ring};
  vwr::token::JwsKeySet jwks;
  std::string kid;

  Fixture() {
    ring.SetOwnKeys(vwr::token::SingleKeySet(key, 0));
    kid = ring.Current().signer->kid;
    auto set = vwr::token::ParseJwks(ring.Current().jwks);
    if (!set) Fail("the ring's JWKS does not read back", set.error());
    jwks = std::move(*set);
  }
};

Fixture& F() {
  static Fixture fixture;
  return fixture;
}

// ---- the reference ----

struct Expected {
  std::optional<JwsError> error;  // nullopt: verifies
  json::object payload;
};

std::optional<json::object> ReferenceObject(std::string_view encoded) {
  const std::optional<std::string> text = vwr::util::Base64UrlDecode(encoded);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value value = json::parse(*text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return value.as_object();
}

// `any_alg`: every asymmetric algorithm allowed, else ES256 only. `type`: the typ asked for
// ("" none). `kid_optional`: a header without kid takes the only key (a JWKS of one key); the ring
// has no key without a kid.
Expected Reference(std::string_view token, bool any_alg, std::string_view type, bool kid_optional) {
  static constexpr std::array<std::string_view, 10> kNames = {
      "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};
  Expected out;
  auto fail = [&](JwsError e) {
    out.error = e;
    return out;
  };
  if (token.size() > kMaxLength) return fail(JwsError::kMalformed);
  if (std::count(token.begin(), token.end(), '.') != 2) return fail(JwsError::kMalformed);
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.rfind('.');
  const std::optional<json::object> header = ReferenceObject(token.substr(0, dot1));
  if (!header) return fail(JwsError::kMalformed);
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return fail(JwsError::kNoAlgorithm);
  const std::string_view alg_name = alg->get_string();
  const bool known = std::find(kNames.begin(), kNames.end(), alg_name) != kNames.end();
  if (!known || (!any_alg && alg_name != "ES256")) return fail(JwsError::kUnsupportedAlgorithm);
  if (header->contains("crit")) return fail(JwsError::kMalformed);
  if (!type.empty()) {
    const json::value* typ = header->if_contains("typ");
    if (typ == nullptr || !typ->is_string() || typ->get_string() != type) {
      return fail(JwsError::kWrongType);
    }
  }
  std::string kid;
  if (const json::value* k = header->if_contains("kid")) {
    if (!k->is_string()) return fail(JwsError::kBadKeyId);
    kid = std::string(k->get_string());
  }
  if (kid != F().kid && !(kid.empty() && kid_optional)) return fail(JwsError::kUnknownKey);
  const std::optional<std::string> signature = vwr::util::Base64UrlDecode(token.substr(dot2 + 1));
  if (!signature) return fail(JwsError::kBadSignature);
  // Only ES256 by the one P-256 key can verify: the key takes no other algorithm.
  if (alg_name != "ES256" ||
      !F().key.public_key().Verify(
          token.substr(0, dot2),
          std::span(reinterpret_cast<const std::uint8_t*>(signature->data()), signature->size()))) {
    return fail(JwsError::kBadSignature);
  }
  std::optional<json::object> payload = ReferenceObject(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return fail(JwsError::kMalformed);
  out.payload = std::move(*payload);
  return out;
}

// ---- the checks ----

void Expect(const Expected& expected,
            const boost::system::result<vwr::token::jwt::VerifiedJws, JwsError>& got,
            const char* how, std::string_view token) {
  if (expected.error) {
    if (got) Fail(how, "verified what the reference refuses");
    if (got.error() != *expected.error) {
      std::fprintf(stderr, "jws_fuzz: %s: %s, the reference says %s\n", how,
                   std::string(vwr::token::jwt::JwsErrorName(got.error())).c_str(),
                   std::string(vwr::token::jwt::JwsErrorName(*expected.error)).c_str());
      Fail(how, token);
    }
    return;
  }
  if (!got) {
    std::fprintf(stderr, "jws_fuzz: %s: refused (%s)\n", how,
                 std::string(vwr::token::jwt::JwsErrorName(got.error())).c_str());
    Fail(how, token);
  }
  if (got->payload != expected.payload) Fail(how, "a payload other than the reference's");
  if (got->alg != JwsAlgorithm::kEs256) Fail(how, "verified with another algorithm");
}

// Returns whether the token verifies as a JWS of type "JWT" by the ring.
bool VerifyAll(std::string_view token) {
  Fixture& f = F();
  const vwr::token::KeyRing::Snapshot& ring = f.ring.Current();
  JwsOptions options;
  options.max_length = kMaxLength;
  options.type = "JWT";
  const Expected as_token = Reference(token, false, "JWT", false);
  const auto plain = VerifyCompact(token, ring, kEs256Only, options);
  Expect(as_token, plain, "key ring", token);

  JwsOptions fast = options;
  fast.known_header = JwsOptions::KnownHeader{ring.signer->encoded_header, JwsAlgorithm::kEs256,
                                              "JWT", ring.signer->kid};
  std::array<unsigned char, 1024> storage;
  json::monotonic_resource resource(storage.data(), storage.size());
  fast.storage = &resource;
  Expect(as_token, VerifyCompact(token, ring, kEs256Only, fast), "known header", token);

  Expect(Reference(token, false, "JWT", true), VerifyCompact(token, f.jwks, kEs256Only, options),
         "JWKS key", token);
  JwsOptions any;
  any.max_length = kMaxLength;
  Expect(Reference(token, true, "", true), VerifyCompact(token, f.jwks, {}, any),
         "JWKS key, any algorithm", token);

  // The callers: their codes for the verdict; a verdict of "verifies" leaves them the claims.
  const auto admitted = f.tokens.Verify(token);
  if (!plain) {
    if (admitted || admitted.error() != vwr::token::TokenErrorOf(plain.error())) {
      Fail("AdmissionTokenSigner reports another code", token);
    }
  } else if (!admitted && admitted.error() != TokenError::kMalformed) {
    Fail("AdmissionTokenSigner refuses a verified token for more than its claims", token);
  }
  JwsOptions pass_options = options;
  pass_options.type = vwr::token::EntryPassCodec::kType;
  const auto as_pass = VerifyCompact(token, ring, kEs256Only, pass_options);
  Expect(Reference(token, false, vwr::token::EntryPassCodec::kType, false), as_pass, "as a pass",
         token);
  const auto pass = f.passes.Verify(token, 1'800'000'000, "a", "vwr");
  if (!as_pass) {
    if (pass || pass.error() != vwr::token::PassErrorOf(as_pass.error())) {
      Fail("EntryPassCodec reports another code", token);
    }
  } else if (pass && (pass->aud != "a" || pass->iss != "vwr")) {
    Fail("EntryPassCodec accepts a pass for another room", token);
  }
  return plain.has_value();
}

std::string Sign(std::string_view header_json, std::string_view payload_json) {
  return vwr::fuzz::SignTexts(F().key, header_json, payload_json);
}

std::string OurHeader() { return R"({"alg":"ES256","typ":"JWT","kid":")" + F().kid + R"("})"; }

constexpr std::string_view kPayload =
    R"({"iss":"vwr","aud":"a","sub":"anon","iat":1,"nbf":1,"exp":2000000000,"jti":"x.1"})";

// A header of fields picked by the input: each may be missing, of the wrong JSON type, or a
// near miss.
std::string FuzzedHeader(FuzzedDataProvider& in) {
  json::object header;
  static constexpr std::array<std::string_view, 9> kAlgs = {
      "ES256", "ES384", "RS256", "EdDSA", "none", "HS256", "es256", "ES256 ", ""};
  static constexpr std::array<std::string_view, 5> kTypes = {"JWT", "vwr-pass+jwt", "jwt", "JOSE",
                                                             ""};
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0:
      header["alg"] = kAlgs[in.ConsumeIntegralInRange<std::size_t>(0, kAlgs.size() - 1)];
      break;
    case 1:
      header["alg"] = 256;
      break;
    case 2:
      header["alg"] = in.ConsumeRandomLengthString(8);
      break;
    default:
      break;
  }
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0:
      header["typ"] = kTypes[in.ConsumeIntegralInRange<std::size_t>(0, kTypes.size() - 1)];
      break;
    case 1:
      header["typ"] = json::array{"JWT"};
      break;
    default:
      break;
  }
  switch (in.ConsumeIntegralInRange(0, 4)) {
    case 0:
    case 1:
      header["kid"] = F().kid;
      break;
    case 2:
      header["kid"] = 7;
      break;
    case 3:
      header["kid"] = in.ConsumeRandomLengthString(50);
      break;
    default:
      break;
  }
  if (in.ConsumeBool()) header["crit"] = json::array{"exp"};
  return json::serialize(header);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      VerifyAll(rest);
      break;
    case 1:
      VerifyAll(Sign(OurHeader(), rest));
      break;
    case 2:
      VerifyAll(Sign(rest, kPayload));
      break;
    case 3: {
      FuzzedDataProvider in(data + 1, size - 1);
      const std::string header = FuzzedHeader(in);
      VerifyAll(Sign(header, in.ConsumeRemainingBytesAsString()));
      break;
    }
    default: {
      FuzzedDataProvider in(data + 1, size - 1);
      const std::string token = Sign(OurHeader(), kPayload);
      std::string changed = token;
      const std::size_t at = in.ConsumeIntegralInRange<std::size_t>(0, token.size() - 1);
      changed[at] = static_cast<char>(in.ConsumeIntegral<std::uint8_t>());
      if (changed == token) {
        if (!VerifyAll(changed)) Fail("our own token does not verify", token);
      } else if (VerifyAll(changed)) {
        Fail("a token with a byte changed verifies", changed);
      }
    }
  }
  return 0;
}
