#include "token/es256.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "util/base64.hpp"

namespace vwr::token {
namespace {

namespace json = boost::json;

constexpr char kGroupName[] = "prime256v1";  // OpenSSL's name for P-256 (secp256r1)
constexpr std::size_t kCoordinateTextLength = util::Base64UrlEncodedLength(32);  // 43

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct SigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, PkeyFree{});
}

// OpenSSL's most recent error as text, and an empty error queue afterwards: a failure left in
// the thread's queue would be blamed on the next TLS call on the same worker thread.
std::string TakeOpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

// SHA-256, looked up once: OpenSSL 3 otherwise fetches it from its provider on every use.
const EVP_MD* Sha256() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) {
      std::fprintf(stderr, "fatal: OpenSSL has no SHA-256\n");
      std::abort();
    }
    return fetched;
  }();
  return md;
}

// Writes one DER INTEGER holding the unsigned big-endian `value` at `out`; returns its length.
std::size_t PutDerInteger(std::span<const std::uint8_t, 32> value, std::uint8_t* out) {
  std::size_t skip = 0;
  while (skip + 1 < value.size() && value[skip] == 0) ++skip;
  const bool pad = (value[skip] & 0x80) != 0;  // keep the INTEGER positive
  const std::size_t length = value.size() - skip + (pad ? 1 : 0);
  std::size_t pos = 0;
  out[pos++] = 0x02;
  out[pos++] = static_cast<std::uint8_t>(length);
  if (pad) out[pos++] = 0x00;
  std::memcpy(out + pos, value.data() + skip, value.size() - skip);
  return pos + value.size() - skip;
}

// R || S -> DER ECDSA-Sig-Value (SEQUENCE { INTEGER r, INTEGER s }), at most 72 bytes.
std::size_t RawToDer(std::span<const std::uint8_t, 64> raw, std::array<std::uint8_t, 72>& der) {
  std::size_t pos = 2;
  pos += PutDerInteger(raw.first<32>(), der.data() + pos);
  pos += PutDerInteger(raw.last<32>(), der.data() + pos);
  der[0] = 0x30;
  der[1] = static_cast<std::uint8_t>(pos - 2);  // < 128: the short length form
  return pos;
}

bool GetCoordinate(const EVP_PKEY* key, const char* name, EcCoordinate& out) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return false;
  const std::unique_ptr<BIGNUM, BnFree> bn(raw);
  return BN_bn2binpad(bn.get(), out.data(), static_cast<int>(out.size())) ==
         static_cast<int>(out.size());
}

// A password callback that refuses: an encrypted PEM fails instead of prompting on a terminal.
int NoPassword(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

std::string CoordinateText(const EcCoordinate& c) { return util::Base64UrlEncode(c); }

bool DecodeCoordinate(std::string_view text, EcCoordinate& out) {
  return text.size() == kCoordinateTextLength && util::Base64UrlDecodeInto(text, out) == out.size();
}

}  // namespace

// ---- EcPublicKey ----

std::optional<EcPublicKey> EcPublicKey::FromCoordinates(const EcCoordinate& x,
                                                        const EcCoordinate& y) {
  std::array<std::uint8_t, 65> point;  // uncompressed SEC 1 encoding: 04 || x || y
  point[0] = 0x04;
  std::memcpy(point.data() + 1, x.data(), x.size());
  std::memcpy(point.data() + 33, y.data(), y.size());

  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroupName, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::shared_ptr<EVP_PKEY> key = Share(raw);
  // Decoding already refuses points off the curve; the full check also refuses the point at
  // infinity and points outside the prime-order group.
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return EcPublicKey(std::move(key), x, y);
}

bool EcPublicKey::Verify(std::string_view message, std::span<const std::uint8_t> signature) const {
  if (signature.size() != 64 || !key_) return false;
  std::array<std::uint8_t, 72> der;
  const std::size_t der_length = RawToDer(signature.first<64>(), der);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, Sha256(), nullptr, key_.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), der.data(), der_length,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

// ---- EcPrivateKey ----

boost::system::result<EcPrivateKey, std::string> EcPrivateKey::FromKey(
    std::shared_ptr<EVP_PKEY> key) {
  if (EVP_PKEY_is_a(key.get(), "EC") != 1) return std::string("not an EC key");
  char group[64] = {};
  std::size_t group_length = 0;
  if (EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &group_length) != 1 ||
      std::string_view(group, group_length) != kGroupName) {
    ERR_clear_error();
    return std::string("not a P-256 (prime256v1) key");
  }
  // The private scalar and the public point must belong together (a damaged file).
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_check(check.get()) != 1) {
    return "the key fails its consistency check (" + TakeOpenSslError() + ")";
  }
  EcCoordinate x;
  EcCoordinate y;
  if (!GetCoordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, x) ||
      !GetCoordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, y)) {
    return "cannot read the public point (" + TakeOpenSslError() + ")";
  }
  std::optional<EcPublicKey> public_key = EcPublicKey::FromCoordinates(x, y);
  if (!public_key) return std::string("the public point is not valid");
  return EcPrivateKey(std::move(key), std::move(*public_key));
}

EcPrivateKey EcPrivateKey::Generate() {
  EVP_PKEY* raw = EVP_EC_gen(kGroupName);
  if (raw == nullptr) {
    std::fprintf(stderr, "fatal: OpenSSL cannot generate a P-256 key: %s\n",
                 TakeOpenSslError().c_str());
    std::abort();
  }
  auto key = FromKey(Share(raw));
  if (!key) {
    std::fprintf(stderr, "fatal: OpenSSL generated an unusable P-256 key: %s\n",
                 key.error().c_str());
    std::abort();
  }
  return std::move(*key);
}

boost::system::result<EcPrivateKey, std::string> EcPrivateKey::FromPem(std::string_view pem) {
  if (pem.size() > 64 * 1024) return std::string("too large for a PEM private key");
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return "cannot read it (" + TakeOpenSslError() + ")";
  bool asked_password = false;
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, &asked_password);
  if (raw == nullptr) {
    const std::string why = TakeOpenSslError();
    if (asked_password) return std::string("the private key is encrypted; it must not be");
    return "holds no PEM private key (" + why + ")";
  }
  return FromKey(Share(raw));
}

std::string EcPrivateKey::ToPem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("cannot write the private key as PEM: " + TakeOpenSslError());
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<std::size_t>(length));
  OPENSSL_cleanse(data, static_cast<std::size_t>(length));
  return pem;
}

std::string_view SignErrorName(SignError error) {
  switch (error) {
    case SignError::kNoSigningKey:
      return "no_signing_key";
    case SignError::kCrypto:
      return "crypto";
  }
  return "crypto";
}

void throw_exception_from_error(SignError error, const boost::source_location& /*location*/) {
  throw std::runtime_error("cannot sign: " + std::string(SignErrorName(error)));
}

boost::system::result<Es256Signature, SignError> EcPrivateKey::Sign(
    std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::array<unsigned char, 80> der;  // an ECDSA-Sig-Value on P-256 is at most 72 bytes
  std::size_t der_length = der.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, Sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), der.data(), &der_length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    TakeOpenSslError();  // an empty queue for the thread's next OpenSSL call (see there)
    return SignError::kCrypto;
  }
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, SigFree> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_length)));
  Es256Signature out;
  if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + 32, 32) != 32) {
    TakeOpenSslError();
    return SignError::kCrypto;
  }
  return out;
}

// ---- JWK ----

std::string JwkThumbprint(const EcPublicKey& key) {
  // RFC 7638 section 3.2: the required members in lexicographic order, no whitespace.
  const std::string canonical = R"({"crv":"P-256","kty":"EC","x":")" + CoordinateText(key.x()) +
                                R"(","y":")" + CoordinateText(key.y()) + R"("})";
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest;
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest.data());
  return util::Base64UrlEncode(digest);
}

std::string ToJwk(const EcPublicKey& key, std::string_view kid) {
  json::object jwk;
  jwk.reserve(7);
  jwk.emplace("kty", "EC");
  jwk.emplace("crv", "P-256");
  jwk.emplace("x", CoordinateText(key.x()));
  jwk.emplace("y", CoordinateText(key.y()));
  jwk.emplace("kid", kid);
  jwk.emplace("use", "sig");
  jwk.emplace("alg", "ES256");
  return json::serialize(jwk);
}

boost::system::result<ParsedJwk, std::string> ParseJwk(std::string_view text) {
  if (text.size() > 8192) return std::string("longer than 8 KiB");
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  if (ec) return "not valid JSON (" + ec.message() + ")";
  const json::object* jwk = value.if_object();
  if (jwk == nullptr) return std::string("not a JSON object");
  auto member = [&](std::string_view name) -> const json::string* {
    const json::value* v = jwk->if_contains(name);
    return v == nullptr ? nullptr : v->if_string();
  };
  auto is = [&](std::string_view name, std::string_view expected) {
    const json::string* s = member(name);
    return s != nullptr && *s == expected;
  };
  if (jwk->contains("d")) return std::string("holds a private key (\"d\"); only public keys");
  if (!is("kty", "EC")) return std::string("kty is not \"EC\"");
  if (!is("crv", "P-256")) return std::string("crv is not \"P-256\"");
  if (jwk->contains("use") && !is("use", "sig")) return std::string("use is not \"sig\"");
  if (jwk->contains("alg") && !is("alg", "ES256")) return std::string("alg is not \"ES256\"");
  const json::string* x_text = member("x");
  const json::string* y_text = member("y");
  EcCoordinate x;
  EcCoordinate y;
  if (x_text == nullptr || !DecodeCoordinate(*x_text, x)) {
    return std::string("x is not 32 bytes of unpadded base64url");
  }
  if (y_text == nullptr || !DecodeCoordinate(*y_text, y)) {
    return std::string("y is not 32 bytes of unpadded base64url");
  }
  std::optional<EcPublicKey> key = EcPublicKey::FromCoordinates(x, y);
  if (!key) return std::string("(x, y) is not a point of P-256");
  const json::string* kid = member("kid");
  if (kid == nullptr) return std::string("kid is missing");
  if (*kid != JwkThumbprint(*key)) {
    return std::string("kid is not the key's RFC 7638 thumbprint");
  }
  return ParsedJwk{std::string(kid->data(), kid->size()), std::move(*key)};
}

}  // namespace vwr::token
