#pragma once

// Keys and signatures for tests of JWS verification: an RSA, EC or Ed25519 key made with OpenSSL,
// its public JWK, and compact JWS signed with it, as another party (a platform's login) would.
// Test code only.

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <boost/json.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/base64.hpp"

namespace vwr::testing {

class JwsTestKey {
 public:
  enum class Kind { kRsa, kP256, kP384, kEd25519 };

  explicit JwsTestKey(Kind kind, int rsa_bits = 2048) : kind_(kind) {
    EVP_PKEY* key = nullptr;
    switch (kind) {
      case Kind::kRsa:
        key = EVP_RSA_gen(static_cast<unsigned>(rsa_bits));
        break;
      case Kind::kP256:
        key = EVP_EC_gen("prime256v1");
        break;
      case Kind::kP384:
        key = EVP_EC_gen("secp384r1");
        break;
      case Kind::kEd25519:
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
        break;
    }
    if (key == nullptr) throw std::runtime_error("key generation failed");
    key_.reset(key);
  }

  // The public JWK, with `kid` (and `alg` when not empty).
  boost::json::object Jwk(const std::string& kid, const std::string& alg = "") const {
    boost::json::object jwk;
    switch (kind_) {
      case Kind::kRsa:
        jwk["kty"] = "RSA";
        jwk["n"] = Encode(Bn(OSSL_PKEY_PARAM_RSA_N, 0));
        jwk["e"] = Encode(Bn(OSSL_PKEY_PARAM_RSA_E, 0));
        break;
      case Kind::kP256:
      case Kind::kP384: {
        const int size = kind_ == Kind::kP256 ? 32 : 48;
        jwk["kty"] = "EC";
        jwk["crv"] = kind_ == Kind::kP256 ? "P-256" : "P-384";
        jwk["x"] = Encode(Bn(OSSL_PKEY_PARAM_EC_PUB_X, size));
        jwk["y"] = Encode(Bn(OSSL_PKEY_PARAM_EC_PUB_Y, size));
        break;
      }
      case Kind::kEd25519: {
        unsigned char raw[32];
        std::size_t len = sizeof(raw);
        EVP_PKEY_get_raw_public_key(key_.get(), raw, &len);
        jwk["kty"] = "OKP";
        jwk["crv"] = "Ed25519";
        jwk["x"] = Encode(std::string(reinterpret_cast<char*>(raw), len));
        break;
      }
    }
    jwk["kid"] = kid;
    if (!alg.empty()) jwk["alg"] = alg;
    return jwk;
  }

  // A compact JWS of `payload` with this header, signed with `alg` ("RS256", "PS256", "ES256",
  // "ES384", "EdDSA").
  std::string Sign(const boost::json::object& header, const boost::json::object& payload,
                   const std::string& alg) const {
    return SignInput(
        Encode(boost::json::serialize(header)) + "." + Encode(boost::json::serialize(payload)),
        alg);
  }

  // `input` (the encoded header "." the encoded payload, as they are) "." its signature.
  std::string SignInput(const std::string& input, const std::string& alg) const {
    const EVP_MD* md = nullptr;
    if (alg.ends_with("256")) md = EVP_sha256();
    if (alg.ends_with("384")) md = EVP_sha384();
    if (alg.ends_with("512")) md = EVP_sha512();
    if (alg == "EdDSA") md = nullptr;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_PKEY_CTX* pctx = nullptr;
    if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key_.get()) != 1) {
      throw std::runtime_error("sign init");
    }
    if (alg.starts_with("PS")) {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    std::size_t len = 0;
    EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      throw std::runtime_error("sign");
    }
    sig.resize(len);
    if (alg.starts_with("ES")) sig = DerToRaw(sig, alg == "ES256" ? 32 : alg == "ES384" ? 48 : 66);
    return input + "." + Encode(sig);
  }

  static std::string Encode(const std::string& bytes) { return util::Base64UrlEncode(bytes); }

 private:
  std::string Bn(const char* name, int pad) const {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(key_.get(), name, &bn);
    const int size = pad > 0 ? pad : BN_num_bytes(bn);
    std::string out(static_cast<std::size_t>(size), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
    BN_free(bn);
    return out;
  }

  static std::string DerToRaw(const std::string& der, int half) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    std::string raw(static_cast<std::size_t>(2 * half), '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), half);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + half, half);
    ECDSA_SIG_free(sig);
    return raw;
  }

  Kind kind_;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, EVP_PKEY_free};
};

}  // namespace vwr::testing
