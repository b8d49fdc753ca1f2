// server.tls: off by default, both files or neither, errors with key and line.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using testing::Describe;
using testing::ErrorFor;
using ::testing::HasSubstr;
using testing::ParseOk;

TEST(ServerTls, OffByDefault) {
  EXPECT_FALSE(DefaultConfig().server.tls.enabled());
  EXPECT_EQ(DefaultConfig().server.tls, TlsConfig{});
  EXPECT_EQ(ParseOk("server:\n  workers: 2\n").server.tls, TlsConfig{});
  EXPECT_EQ(ParseOk("server:\n  tls:\n").server.tls, TlsConfig{});
  EXPECT_EQ(ParseOk("server:\n  tls: {}\n").server.tls, TlsConfig{});
}

TEST(ServerTls, BothFilesTurnItOn) {
  const Config config = ParseOk(R"(server:
  tls:
    cert_file: /etc/vwr/tls/fullchain.pem
    key_file: "/etc/vwr/tls/privkey.pem"
)");
  EXPECT_TRUE(config.server.tls.enabled());
  EXPECT_EQ(config.server.tls.cert_file, "/etc/vwr/tls/fullchain.pem");
  EXPECT_EQ(config.server.tls.key_file, "/etc/vwr/tls/privkey.pem");
  // Nothing else moved.
  EXPECT_EQ(config.server.listen, DefaultConfig().server.listen);
  EXPECT_EQ(config.server.limits, ServerLimits{});
}

TEST(ServerTls, EmptyStringsMeanLeftOut) {
  EXPECT_EQ(ParseOk("server:\n  tls:\n    cert_file: \"\"\n    key_file: \"\"\n").server.tls,
            TlsConfig{});
}

TEST(ServerTls, CertificateWithoutKeyNamesTheMissingKeyAtTheGivenLine) {
  const ParseResult result = ParseConfig(R"(server:
  workers: 2
  tls:
    cert_file: cert.pem
)");
  ASSERT_FALSE(result.ok());
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
  const ConfigError error = ErrorFor(result, "server.tls.key_file");
  EXPECT_EQ(error.line, 4);
  EXPECT_THAT(error.message, HasSubstr("missing"));
  EXPECT_THAT(error.message, HasSubstr("server.tls.cert_file is set"));
  EXPECT_THAT(error.ToString(), HasSubstr("line 4, column 5: server.tls.key_file: missing"));
}

TEST(ServerTls, KeyWithoutCertificateNamesTheMissingCertificate) {
  const ParseResult result = ParseConfig(R"(server:
  tls:
    cert_file: ""
    key_file: key.pem
)");
  ASSERT_FALSE(result.ok());
  const ConfigError error = ErrorFor(result, "server.tls.cert_file");
  EXPECT_EQ(error.line, 4);
  EXPECT_THAT(error.message, HasSubstr("server.tls.key_file is set"));
}

TEST(ServerTls, UnknownAndMistypedKeysAreErrors) {
  const ParseResult result = ParseConfig(R"(server:
  tls:
    cert_file: [a, b]
    key_file: key.pem
    cert_fle: cert.pem
)");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(ErrorFor(result, "server.tls.cert_file").message, HasSubstr("expected a string"));
  const ConfigError unknown = ErrorFor(result, "server.tls.cert_fle");
  EXPECT_EQ(unknown.line, 5);
  EXPECT_THAT(unknown.message, HasSubstr("did you mean \"cert_file\""));
  // The mistyped value is reported once, not again as a missing half of the pair.
  EXPECT_EQ(result.errors.size(), 2u) << Describe(result);
}

TEST(ServerTls, MustBeAMapping) {
  const ParseResult result = ParseConfig("server:\n  tls: on\n");
  ASSERT_FALSE(result.ok());
  const ConfigError error = ErrorFor(result, "server.tls");
  EXPECT_EQ(error.line, 2);
  EXPECT_THAT(error.message, HasSubstr("expected a mapping (keys: cert_file, key_file)"));
}

}  // namespace
}  // namespace vwr::config
