#include "token/es256.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "util/base64.hpp"

namespace vwr::token {
namespace {

EcCoordinate Coordinate(std::string_view base64url) {
  EcCoordinate c{};
  EXPECT_EQ(util::Base64UrlDecodeInto(base64url, c), c.size()) << base64url;
  return c;
}

std::span<const std::uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Verifies `raw` (R || S) with OpenSSL directly, through its DER form built by OpenSSL itself:
// an independent check that Sign produces what JWS calls an ES256 signature.
bool OpenSslVerifies(const EcPrivateKey& key, std::string_view message, const Es256Signature& raw) {
  const std::string pem = key.ToPem();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), 32, nullptr), BN_bin2bn(raw.data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_length = i2d_ECDSA_SIG(sig, &der);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
      EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_length),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  EVP_PKEY_free(pkey);
  return ok;
}

// An OpenSSL (DER) signature of `message` turned into R || S by OpenSSL's own parser.
Es256Signature OpenSslSign(const EcPrivateKey& key, std::string_view message) {
  const std::string pem = key.ToPem();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char der[80];
  std::size_t der_length = sizeof(der);
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey), 1);
  EXPECT_EQ(EVP_DigestSign(ctx, der, &der_length,
                           reinterpret_cast<const unsigned char*>(message.data()), message.size()),
            1);
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_length));
  Es256Signature raw{};
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + 32, 32);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return raw;
}

TEST(Es256, SignaturesAreRawRAndSThatOpenSslAccepts) {
  const EcPrivateKey key = EcPrivateKey::Generate();
  for (std::string_view message : {"", "a", "header.payload", "x"}) {
    const Es256Signature signature = key.Sign(message).value();
    EXPECT_TRUE(OpenSslVerifies(key, message, signature)) << message;
    EXPECT_TRUE(key.public_key().Verify(message, signature)) << message;
    EXPECT_FALSE(key.public_key().Verify(std::string(message) + "!", signature)) << message;
  }
}

TEST(Es256, VerifiesSignaturesMadeByOpenSsl) {
  const EcPrivateKey key = EcPrivateKey::Generate();
  // Many, so that short R or S (leading zero bytes) and high bits (DER padding) all occur.
  for (int i = 0; i < 200; ++i) {
    const std::string message = "message " + std::to_string(i);
    EXPECT_TRUE(key.public_key().Verify(message, OpenSslSign(key, message))) << i;
  }
}

// RFC 7515 appendix A.3: the ES256 example, with its key and signature.
TEST(Es256, VerifiesTheRfc7515Example) {
  const auto key =
      EcPublicKey::FromCoordinates(Coordinate("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"),
                                   Coordinate("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"));
  ASSERT_TRUE(key.has_value());
  const std::string input =
      "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
      "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
  const std::string signature = util::Base64UrlDecode(
                                    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8I"
                                    "SlSApmWQxfKTUJqPP3-Kg6NU1Q")
                                    .value();
  EXPECT_TRUE(key->Verify(input, Bytes(signature)));
  EXPECT_FALSE(key->Verify(input + "x", Bytes(signature)));
}

TEST(Es256, RejectsBadSignaturesOfAnyShape) {
  const EcPrivateKey key = EcPrivateKey::Generate();
  const EcPublicKey& pub = key.public_key();
  const Es256Signature good = key.Sign("m").value();
  ASSERT_TRUE(pub.Verify("m", good));
  EXPECT_FALSE(pub.Verify("m", std::span(good).first(63)));
  EXPECT_FALSE(pub.Verify("m", std::span<const std::uint8_t>()));
  std::array<std::uint8_t, 65> longer{};
  std::copy(good.begin(), good.end(), longer.begin());
  EXPECT_FALSE(pub.Verify("m", longer));
  Es256Signature zero{};
  EXPECT_FALSE(pub.Verify("m", zero));
  Es256Signature ones;
  ones.fill(0xff);
  EXPECT_FALSE(pub.Verify("m", ones));
  Es256Signature r_zero = good;
  std::fill(r_zero.begin(), r_zero.begin() + 32, 0);
  EXPECT_FALSE(pub.Verify("m", r_zero));
  for (std::size_t i = 0; i < good.size(); ++i) {
    Es256Signature flipped = good;
    flipped[i] ^= 0x01;
    EXPECT_FALSE(pub.Verify("m", flipped)) << i;
  }
  // Another key's signature.
  EXPECT_FALSE(pub.Verify("m", EcPrivateKey::Generate().Sign("m").value()));
}

TEST(Es256, PublicKeysMustBeOnTheCurve) {
  const EcPrivateKey key = EcPrivateKey::Generate();
  EcCoordinate y = key.public_key().y();
  y[31] ^= 0x01;
  EXPECT_FALSE(EcPublicKey::FromCoordinates(key.public_key().x(), y).has_value());
  EXPECT_FALSE(EcPublicKey::FromCoordinates(EcCoordinate{}, EcCoordinate{}).has_value());
  EcCoordinate ones;
  ones.fill(0xff);
  EXPECT_FALSE(EcPublicKey::FromCoordinates(ones, ones).has_value());
  const auto same = EcPublicKey::FromCoordinates(key.public_key().x(), key.public_key().y());
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(*same, key.public_key());
  EXPECT_TRUE(same->Verify("m", key.Sign("m").value()));
}

TEST(Es256, PemRoundTrips) {
  const EcPrivateKey key = EcPrivateKey::Generate();
  const std::string pem = key.ToPem();
  EXPECT_TRUE(pem.starts_with("-----BEGIN PRIVATE KEY-----\n")) << pem;
  auto back = EcPrivateKey::FromPem(pem);
  ASSERT_TRUE(back.has_value()) << back.error();
  EXPECT_EQ(back->public_key(), key.public_key());
  EXPECT_TRUE(key.public_key().Verify("m", back->Sign("m").value()));
  EXPECT_NE(EcPrivateKey::Generate().public_key(), key.public_key());
}

TEST(Es256, FromPemExplainsWhatIsWrong) {
  auto garbage = EcPrivateKey::FromPem("not a key");
  ASSERT_FALSE(garbage.has_value());
  EXPECT_NE(garbage.error().find("no PEM private key"), std::string::npos) << garbage.error();

  std::string damaged = EcPrivateKey::Generate().ToPem();
  damaged[40] = damaged[40] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(EcPrivateKey::FromPem(damaged).has_value());

  // A P-384 key.
  EVP_PKEY* p384 = EVP_EC_gen("secp384r1");
  ASSERT_NE(p384, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, p384, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  auto other_curve = EcPrivateKey::FromPem(std::string(data, static_cast<std::size_t>(length)));
  ASSERT_FALSE(other_curve.has_value());
  EXPECT_NE(other_curve.error().find("P-256"), std::string::npos) << other_curve.error();

  // The same P-384 key, encrypted.
  BIO* encrypted = BIO_new(BIO_s_mem());
  PEM_write_bio_PKCS8PrivateKey(encrypted, p384, EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                const_cast<char*>("secret"));
  const long encrypted_length = BIO_get_mem_data(encrypted, &data);
  auto locked =
      EcPrivateKey::FromPem(std::string(data, static_cast<std::size_t>(encrypted_length)));
  ASSERT_FALSE(locked.has_value());
  EXPECT_NE(locked.error().find("encrypted"), std::string::npos) << locked.error();
  BIO_free(encrypted);
  BIO_free(bio);
  EVP_PKEY_free(p384);
}

// RFC 7517 appendix A.1's EC key; its RFC 7638 thumbprint, computed independently.
TEST(Jwk, ThumbprintMatchesAnIndependentComputation) {
  const auto key =
      EcPublicKey::FromCoordinates(Coordinate("MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"),
                                   Coordinate("4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"));
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(JwkThumbprint(*key), "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s");
}

TEST(Jwk, RoundTripsAndDecodesToTheSamePoint) {
  const EcPrivateKey key = EcPrivateKey::Generate();
  const std::string kid = JwkThumbprint(key.public_key());
  const std::string jwk = ToJwk(key.public_key(), kid);
  EXPECT_EQ(jwk, R"({"kty":"EC","crv":"P-256","x":")" +
                     util::Base64UrlEncode(key.public_key().x()) + R"(","y":")" +
                     util::Base64UrlEncode(key.public_key().y()) + R"(","kid":")" + kid +
                     R"(","use":"sig","alg":"ES256"})");
  auto parsed = ParseJwk(jwk);
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->kid, kid);
  EXPECT_EQ(parsed->key, key.public_key());
  EXPECT_TRUE(parsed->key.Verify("m", key.Sign("m").value()));
  // Member order and extra members are free; "use" and "alg" optional.
  const std::string reordered = R"({"x":")" + util::Base64UrlEncode(key.public_key().x()) +
                                R"(","kid":")" + kid + R"(","y":")" +
                                util::Base64UrlEncode(key.public_key().y()) +
                                R"(","crv":"P-256","kty":"EC","key_ops":["verify"]})";
  EXPECT_TRUE(ParseJwk(reordered).has_value());
}

TEST(Jwk, RefusesWhatIsNotOurKindOfPublicKey) {
  const EcPrivateKey key = EcPrivateKey::Generate();
  const std::string kid = JwkThumbprint(key.public_key());
  const std::string x = util::Base64UrlEncode(key.public_key().x());
  const std::string y = util::Base64UrlEncode(key.public_key().y());
  auto jwk = [&](std::string_view extra, std::string_view kty = "EC",
                 std::string_view crv = "P-256", std::string_view xs = {}, std::string_view ys = {},
                 std::string_view k = {}) {
    return R"({"kty":")" + std::string(kty) + R"(","crv":")" + std::string(crv) + R"(","x":")" +
           std::string(xs.empty() ? x : xs) + R"(","y":")" + std::string(ys.empty() ? y : ys) +
           R"(","kid":")" + std::string(k.empty() ? kid : k) + "\"" + std::string(extra) + "}";
  };
  ASSERT_TRUE(ParseJwk(jwk("")).has_value());
  EcCoordinate off_curve = key.public_key().y();
  off_curve[0] ^= 0x80;
  const std::string cases[] = {
      jwk(R"(,"d":"AAAA")"),
      jwk("", "RSA"),
      jwk("", "EC", "P-384"),
      jwk("", "EC", "P-256", x.substr(1)),
      jwk("", "EC", "P-256", x + "A"),
      jwk("", "EC", "P-256", {}, y.substr(0, 42) + "="),
      jwk("", "EC", "P-256", {}, util::Base64UrlEncode(off_curve)),
      jwk("", "EC", "P-256", {}, {}, "k1"),
      jwk(R"(,"use":"enc")"),
      jwk(R"(,"alg":"HS256")"),
      R"({"kty":"EC","crv":"P-256","x":")" + x + R"(","y":")" + y + R"("})",
      "not json",
      "[]",
      "",
      std::string(9000, ' '),
  };
  for (const std::string& text : cases) {
    EXPECT_FALSE(ParseJwk(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace vwr::token
