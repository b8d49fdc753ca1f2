// MakeTlsContext: a matching certificate and key load; everything else is an error naming the
// file. The certificates are made here, at run time, so that no private key lives in the tree.

#include "server/tls_context.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

namespace vwr::server {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertDeleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Cert = std::unique_ptr<X509, CertDeleter>;
using Bio = std::unique_ptr<BIO, BioDeleter>;

Key EcKey() { return Key(EVP_EC_gen("P-256")); }

// A self-signed certificate for CN=localhost, valid for a day.
Cert SelfSigned(EVP_PKEY* key) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_sign(cert.get(), key, EVP_sha256());
  return cert;
}

std::string Drain(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return Drain(bio.get());
}

std::string KeyPem(EVP_PKEY* key, const char* passphrase = nullptr) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (passphrase == nullptr) {
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), passphrase,
                                  static_cast<int>(std::string_view(passphrase).size()), nullptr,
                                  nullptr);
  }
  return Drain(bio.get());
}

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "vwr_tls_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    key_ = EcKey();
    ASSERT_NE(key_, nullptr);
    cert_ = SelfSigned(key_.get());
    cert_file_ = Write("cert.pem", CertPem(cert_.get()));
    key_file_ = Write("key.pem", KeyPem(key_.get()));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, std::string_view contents) {
    const fs::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
    return path.string();
  }

  // The error message of a context that must fail to load.
  static std::string ErrorOf(const std::string& cert_file, const std::string& key_file) {
    auto context = MakeTlsContext(cert_file, key_file);
    EXPECT_FALSE(context.has_value());
    return context ? std::string() : context.error().message;
  }

  fs::path dir_;
  Key key_;
  Cert cert_;
  std::string cert_file_;
  std::string key_file_;
};

TEST_F(TlsContextTest, AMatchingPairLoadsWithTls12AsTheOldestVersion) {
  auto context = MakeTlsContext(cert_file_, key_file_);
  ASSERT_TRUE(context.has_value()) << context.error().message;
  SSL_CTX* native = (*context)->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(native), TLS1_2_VERSION);
  EXPECT_NE(SSL_CTX_get_options(native) & SSL_OP_NO_RENEGOTIATION, 0u);
  EXPECT_EQ(SSL_CTX_check_private_key(native), 1);
}

TEST_F(TlsContextTest, TheKeyOfAnotherCertificateIsRefusedNamingBothFiles) {
  const Key other = EcKey();
  const std::string other_key = Write("other.key.pem", KeyPem(other.get()));
  EXPECT_EQ(
      ErrorOf(cert_file_, other_key),
      "the private key in " + other_key + " does not belong to the certificate in " + cert_file_);
}

TEST_F(TlsContextTest, AKeyOfAnotherTypeIsRefusedToo) {
  const Key rsa(EVP_RSA_gen(2048));
  ASSERT_NE(rsa, nullptr);
  const std::string rsa_key = Write("rsa.key.pem", KeyPem(rsa.get()));
  EXPECT_THAT(ErrorOf(cert_file_, rsa_key), HasSubstr("does not belong to the certificate"));
}

TEST_F(TlsContextTest, AMissingFileIsNamed) {
  const std::string missing = (dir_ / "missing.pem").string();
  EXPECT_EQ(ErrorOf(missing, key_file_),
            "cannot read the certificate file " + missing + ": No such file or directory");
  EXPECT_EQ(ErrorOf(cert_file_, missing),
            "cannot read the private key file " + missing + ": No such file or directory");
  EXPECT_THAT(ErrorOf(dir_.string(), key_file_), HasSubstr("it is a directory"));
}

TEST_F(TlsContextTest, FilesWithoutPemAreNamed) {
  const std::string text = Write("notes.txt", "not a certificate\n");
  EXPECT_THAT(ErrorOf(text, key_file_),
              AllOf(HasSubstr("the certificate file " + text), HasSubstr("no PEM certificate")));
  EXPECT_THAT(ErrorOf(cert_file_, text),
              AllOf(HasSubstr("the private key file " + text), HasSubstr("no PEM private key")));
  // The two files swapped: a key where the certificate belongs.
  EXPECT_THAT(ErrorOf(key_file_, cert_file_), HasSubstr("no PEM certificate"));
}

TEST_F(TlsContextTest, ADamagedCertificateIsNamed) {
  const std::string damaged =
      Write("damaged.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_THAT(ErrorOf(damaged, key_file_),
              HasSubstr("cannot load the certificate chain in " + damaged));
}

TEST_F(TlsContextTest, AnEncryptedKeyIsRefusedWithoutAskingForItsPassphrase) {
  const std::string encrypted = Write("encrypted.pem", KeyPem(key_.get(), "secret"));
  EXPECT_THAT(ErrorOf(cert_file_, encrypted),
              AllOf(HasSubstr("the private key file " + encrypted), HasSubstr("is encrypted")));
}

}  // namespace
}  // namespace vwr::server
