#include "token/jws.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <cstring>
#include <vector>

#include "token/openssl_ptr.hpp"
#include "util/base64.hpp"

namespace vwr::token {
namespace {

namespace json = boost::json;
using namespace ossl;  // NOLINT(google-build-using-namespace): the deleters

constexpr int kMinRsaBits = 2048;

struct AlgorithmName {
  JwsAlgorithm alg;
  std::string_view name;
};
constexpr std::array<AlgorithmName, 10> kAlgorithms = {{
    {JwsAlgorithm::kRs256, "RS256"},
    {JwsAlgorithm::kRs384, "RS384"},
    {JwsAlgorithm::kRs512, "RS512"},
    {JwsAlgorithm::kPs256, "PS256"},
    {JwsAlgorithm::kPs384, "PS384"},
    {JwsAlgorithm::kPs512, "PS512"},
    {JwsAlgorithm::kEs256, "ES256"},
    {JwsAlgorithm::kEs384, "ES384"},
    {JwsAlgorithm::kEs512, "ES512"},
    {JwsAlgorithm::kEdDsa, "EdDSA"},
}};

bool IsRsa(JwsAlgorithm a) { return a <= JwsAlgorithm::kPs512; }
bool IsPss(JwsAlgorithm a) { return a >= JwsAlgorithm::kPs256 && a <= JwsAlgorithm::kPs512; }

// The digest an algorithm hashes with (nullptr for EdDSA, which hashes inside).
const EVP_MD* DigestOf(JwsAlgorithm a) {
  switch (a) {
    case JwsAlgorithm::kRs256:
    case JwsAlgorithm::kPs256:
    case JwsAlgorithm::kEs256:
      return EVP_sha256();
    case JwsAlgorithm::kRs384:
    case JwsAlgorithm::kPs384:
    case JwsAlgorithm::kEs384:
      return EVP_sha384();
    case JwsAlgorithm::kRs512:
    case JwsAlgorithm::kPs512:
    case JwsAlgorithm::kEs512:
      return EVP_sha512();
    case JwsAlgorithm::kEdDsa:
      return nullptr;
  }
  return nullptr;
}

// The bytes of one coordinate of each curve's ES algorithm.
std::size_t CoordinateBytesOf(JwsAlgorithm a) {
  switch (a) {
    case JwsAlgorithm::kEs256:
      return 32;
    case JwsAlgorithm::kEs384:
      return 48;
    case JwsAlgorithm::kEs512:
      return 66;
    default:
      return 0;
  }
}

const json::string* StringMember(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr ? nullptr : v->if_string();
}

std::optional<std::string> DecodeMember(const json::object& o, std::string_view key) {
  const json::string* s = StringMember(o, key);
  if (s == nullptr) return std::nullopt;
  return util::Base64UrlDecode(std::string_view(s->data(), s->size()));
}

BnPtr ToBn(std::string_view bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

// Builds a key of `type` ("RSA", "EC") from OSSL parameters; nullptr when OpenSSL refuses it.
std::shared_ptr<EVP_PKEY> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  const std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  const std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return std::shared_ptr<EVP_PKEY>(key, PkeyFree{});
}

// An EC public key must be a point of its curve: OpenSSL's public check says so.
bool IsValidPublicKey(EVP_PKEY* key) {
  const std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(key, nullptr));
  const bool ok = ctx && EVP_PKEY_public_check(ctx.get()) == 1;
  ERR_clear_error();
  return ok;
}

// R || S (two big-endian integers of `half` bytes) -> DER ECDSA-Sig-Value.
std::optional<std::vector<std::uint8_t>> RawEcdsaToDer(std::span<const std::uint8_t> raw,
                                                       std::size_t half) {
  if (half == 0 || raw.size() != 2 * half) return std::nullopt;
  const std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) return std::nullopt;
  std::vector<std::uint8_t> der(static_cast<std::size_t>(length));
  unsigned char* out = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &out) != length) return std::nullopt;
  return der;
}

}  // namespace

std::optional<JwsAlgorithm> ParseJwsAlgorithm(std::string_view name) {
  for (const AlgorithmName& a : kAlgorithms) {
    if (a.name == name) return a.alg;
  }
  return std::nullopt;
}

std::string_view JwsAlgorithmName(JwsAlgorithm alg) {
  for (const AlgorithmName& a : kAlgorithms) {
    if (a.alg == alg) return a.name;
  }
  return "?";
}

boost::system::result<JwsPublicKey, std::string> JwsPublicKey::FromJwk(const json::object& jwk) {
  std::string kid;
  if (const json::value* v = jwk.if_contains("kid")) {
    if (!v->is_string()) return std::string("kid is not a string");
    kid = std::string(v->get_string());
    if (kid.size() > 256) return std::string("kid is longer than 256 characters");
  }
  if (const json::string* use = StringMember(jwk, "use"); use != nullptr && *use != "sig") {
    return std::string("use is not \"sig\"");
  }
  if (jwk.contains("d") || jwk.contains("p") || jwk.contains("k")) {
    return std::string("holds a private or secret part: a JWKS publishes public keys only");
  }
  std::optional<JwsAlgorithm> alg;
  if (const json::string* name = StringMember(jwk, "alg")) {
    alg = ParseJwsAlgorithm(std::string_view(name->data(), name->size()));
    if (!alg) return "alg \"" + std::string(*name) + "\" is not an asymmetric JWS algorithm";
  }
  const json::string* kty = StringMember(jwk, "kty");
  if (kty == nullptr) return std::string("no kty");

  if (*kty == "RSA") {
    const std::optional<std::string> n = DecodeMember(jwk, "n");
    const std::optional<std::string> e = DecodeMember(jwk, "e");
    if (!n || !e || n->empty() || e->empty()) return std::string("RSA key without valid n and e");
    if (alg && !IsRsa(*alg)) return std::string("an RSA key with a non-RSA alg");
    const BnPtr bn_n = ToBn(*n);
    const BnPtr bn_e = ToBn(*e);
    if (!bn_n || !bn_e) return std::string("RSA key: out of memory");
    if (BN_num_bits(bn_n.get()) < kMinRsaBits) {
      return "RSA key of " + std::to_string(BN_num_bits(bn_n.get())) +
             " bits: at least 2048 are required";
    }
    const std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
      return std::string("RSA key: out of memory");
    }
    std::shared_ptr<EVP_PKEY> key = FromParams("RSA", bld.get());
    if (!key) return std::string("RSA key refused by OpenSSL");
    return JwsPublicKey(std::move(key), Kind::kRsa, 0, alg, std::move(kid));
  }

  if (*kty == "EC") {
    const json::string* crv = StringMember(jwk, "crv");
    JwsAlgorithm curve_alg;
    const char* group = nullptr;
    if (crv != nullptr && *crv == "P-256") {
      curve_alg = JwsAlgorithm::kEs256;
      group = "prime256v1";
    } else if (crv != nullptr && *crv == "P-384") {
      curve_alg = JwsAlgorithm::kEs384;
      group = "secp384r1";
    } else if (crv != nullptr && *crv == "P-521") {
      curve_alg = JwsAlgorithm::kEs512;
      group = "secp521r1";
    } else {
      return std::string("EC key on an unsupported curve (P-256, P-384 and P-521 are)");
    }
    if (alg && *alg != curve_alg) return std::string("an EC key whose alg is not its curve's");
    const std::size_t size = CoordinateBytesOf(curve_alg);
    const std::optional<std::string> x = DecodeMember(jwk, "x");
    const std::optional<std::string> y = DecodeMember(jwk, "y");
    if (!x || !y || x->size() != size || y->size() != size) {
      return std::string("EC key without x and y of its curve's size");
    }
    std::string point;
    point.reserve(1 + 2 * size);
    point.push_back('\x04');  // uncompressed
    point += *x;
    point += *y;
    const std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
      return std::string("EC key: out of memory");
    }
    std::shared_ptr<EVP_PKEY> key = FromParams("EC", bld.get());
    if (!key || !IsValidPublicKey(key.get()))
      return std::string("EC key is not a point of its curve");
    return JwsPublicKey(std::move(key), Kind::kEc, size, curve_alg, std::move(kid));
  }

  if (*kty == "OKP") {
    const json::string* crv = StringMember(jwk, "crv");
    if (crv == nullptr || *crv != "Ed25519") return std::string("OKP key that is not Ed25519");
    if (alg && *alg != JwsAlgorithm::kEdDsa)
      return std::string("an Ed25519 key whose alg is not EdDSA");
    const std::optional<std::string> x = DecodeMember(jwk, "x");
    if (!x || x->size() != 32) return std::string("Ed25519 key without a 32-byte x");
    EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size());
    if (raw == nullptr) {
      ERR_clear_error();
      return std::string("Ed25519 key refused by OpenSSL");
    }
    return JwsPublicKey(std::shared_ptr<EVP_PKEY>(raw, PkeyFree{}), Kind::kEd25519, 0,
                        JwsAlgorithm::kEdDsa, std::move(kid));
  }
  return "kty \"" + std::string(*kty) + "\" is not supported (RSA, EC and OKP are)";
}

bool JwsPublicKey::Allows(JwsAlgorithm alg) const {
  if (alg_) return *alg_ == alg;
  switch (kind_) {
    case Kind::kRsa:
      return IsRsa(alg);
    case Kind::kEc:
      return CoordinateBytesOf(alg) == coordinate_bytes_;
    case Kind::kEd25519:
      return alg == JwsAlgorithm::kEdDsa;
  }
  return false;
}

bool JwsPublicKey::Verify(JwsAlgorithm alg, std::string_view message,
                          std::span<const std::uint8_t> signature) const {
  if (!Allows(alg)) return false;
  std::optional<std::vector<std::uint8_t>> der;
  if (kind_ == Kind::kEc) {
    der = RawEcdsaToDer(signature, coordinate_bytes_);
    if (!der) return false;
    signature = *der;
  }
  const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, DigestOf(alg), nullptr, key_.get()) == 1;
  if (ok && IsPss(alg)) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, DigestOf(alg)) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                              reinterpret_cast<const unsigned char*>(message.data()),
                              message.size()) == 1;
  ERR_clear_error();  // a refused signature leaves an error in the thread's queue
  return ok;
}

const JwsPublicKey* JwsKeySet::Find(std::string_view kid) const {
  if (kid.empty()) return by_kid.size() == 1 ? &by_kid.begin()->second : nullptr;
  const auto it = by_kid.find(kid);
  return it == by_kid.end() ? nullptr : &it->second;
}

boost::system::result<JwsKeySet, std::string> ParseJwks(std::string_view text) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec) return "not JSON: " + ec.message();
  const json::object* root = doc.if_object();
  const json::value* keys = root == nullptr ? nullptr : root->if_contains("keys");
  if (keys == nullptr || !keys->is_array()) return std::string("not a JWKS: no \"keys\" array");
  JwsKeySet set;
  std::size_t index = 0;
  for (const json::value& entry : keys->get_array()) {
    const std::string where = "key " + std::to_string(index++);
    const json::object* jwk = entry.if_object();
    if (jwk == nullptr) {
      set.skipped.push_back(where + ": not an object");
      continue;
    }
    auto key = JwsPublicKey::FromJwk(*jwk);
    if (!key) {
      set.skipped.push_back(where + ": " + key.error());
      continue;
    }
    std::string kid = key->kid();
    if (!set.by_kid.emplace(kid, std::move(*key)).second) {
      return "two keys have the kid \"" + kid + "\"";
    }
  }
  if (set.by_kid.empty()) {
    std::string why = "no usable key";
    for (const std::string& s : set.skipped) why += "; " + s;
    return why;
  }
  return set;
}

namespace jwt {

std::string_view JwsErrorName(JwsError error) {
  switch (error) {
    case JwsError::kMalformed:
      return "malformed";
    case JwsError::kNoAlgorithm:
      return "no_algorithm";
    case JwsError::kUnsupportedAlgorithm:
      return "unsupported_algorithm";
    case JwsError::kWrongType:
      return "wrong_type";
    case JwsError::kBadKeyId:
      return "bad_key_id";
    case JwsError::kUnknownKey:
      return "unknown_key";
    case JwsError::kBadSignature:
      return "bad_signature";
  }
  return "malformed";
}

namespace {

// The base64url part `encoded` as a JSON object in `storage`; nullopt when it is not one.
std::optional<json::object> DecodeObject(std::string_view encoded,
                                         const json::storage_ptr& storage) {
  const std::optional<std::string> text = util::Base64UrlDecode(encoded);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value doc = json::parse(*text, ec, storage);
  if (ec) return std::nullopt;
  json::object* object = doc.if_object();
  if (object == nullptr) return std::nullopt;
  return std::move(*object);
}

// The largest signature decoded without the heap: RSA-4096's 512 bytes (every EC and Ed25519
// signature is shorter). Longer ones, from larger RSA keys, are decoded into a vector.
constexpr std::size_t kSignatureOnStack = 512;

}  // namespace

boost::system::result<VerifiedJws, JwsError> VerifyCompact(std::string_view token,
                                                           const JwsKeyLookup& keys,
                                                           std::span<const JwsAlgorithm> allowed,
                                                           const JwsOptions& options) {
  if (token.size() > options.max_length) return JwsError::kMalformed;
  const std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return JwsError::kMalformed;
  const std::size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return JwsError::kMalformed;
  }
  const std::string_view encoded_header = token.substr(0, first_dot);
  const std::string_view encoded_payload = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view encoded_signature = token.substr(second_dot + 1);

  auto is_allowed = [&](JwsAlgorithm alg) {
    return allowed.empty() || std::find(allowed.begin(), allowed.end(), alg) != allowed.end();
  };
  // Built in the caller's storage: moving an object into one of other storage would copy it.
  VerifiedJws out{JwsAlgorithm::kEs256, json::object(options.storage),
                  json::object(options.storage), std::string()};
  if (options.known_header && encoded_header == options.known_header->encoded) {
    // What the caller allows is checked whatever it vouches for.
    if (!is_allowed(options.known_header->alg)) return JwsError::kUnsupportedAlgorithm;
    if (!options.type.empty() && options.known_header->type != options.type) {
      return JwsError::kWrongType;
    }
    out.alg = options.known_header->alg;
    out.kid = std::string(options.known_header->kid);
  } else {
    std::optional<json::object> header = DecodeObject(encoded_header, options.storage);
    if (!header) return JwsError::kMalformed;
    const json::string* alg_name = StringMember(*header, "alg");
    if (alg_name == nullptr) return JwsError::kNoAlgorithm;
    const std::optional<JwsAlgorithm> alg =
        ParseJwsAlgorithm(std::string_view(alg_name->data(), alg_name->size()));
    if (!alg || !is_allowed(*alg)) return JwsError::kUnsupportedAlgorithm;
    out.alg = *alg;
    if (header->contains("crit")) return JwsError::kMalformed;
    if (!options.type.empty()) {
      const json::string* typ = StringMember(*header, "typ");
      if (typ == nullptr || *typ != options.type) return JwsError::kWrongType;
    }
    if (const json::value* kid = header->if_contains("kid")) {
      const json::string* text = kid->if_string();
      if (text == nullptr) return JwsError::kBadKeyId;
      out.kid.assign(text->data(), text->size());
    }
    out.header = std::move(*header);
  }
  const JwsVerifier* key = keys.Find(out.kid);
  if (key == nullptr) return JwsError::kUnknownKey;

  const std::optional<std::size_t> signature_length =
      util::Base64UrlDecodedLength(encoded_signature.size());
  if (!signature_length) return JwsError::kBadSignature;
  std::array<std::uint8_t, kSignatureOnStack> on_stack;
  std::vector<std::uint8_t> on_heap;
  std::span<std::uint8_t> buffer(on_stack);
  if (*signature_length > on_stack.size()) {
    on_heap.resize(*signature_length);
    buffer = on_heap;
  }
  const std::optional<std::size_t> decoded = util::Base64UrlDecodeInto(encoded_signature, buffer);
  if (!decoded || !key->Verify(out.alg, token.substr(0, second_dot), buffer.first(*decoded))) {
    return JwsError::kBadSignature;
  }

  std::optional<json::object> payload = DecodeObject(encoded_payload, options.storage);
  if (!payload) return JwsError::kMalformed;
  out.payload = std::move(*payload);
  return out;
}

std::string KeyIdOf(std::string_view token, std::size_t max_length) {
  if (token.size() > max_length) return {};
  const std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return {};
  std::optional<json::object> header = DecodeObject(token.substr(0, first_dot), {});
  if (!header) return {};
  const json::string* kid = StringMember(*header, "kid");
  return kid != nullptr ? std::string(kid->data(), kid->size()) : std::string();
}

}  // namespace jwt
}  // namespace vwr::token
