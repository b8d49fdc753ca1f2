#pragma once

// What the token fuzz targets sign with: a fixed P-256 key, so that a crash reproduces from its
// input alone (its kid is ftB0xbr5wl7fSV_UoUVJ6M8GM1Zvamu8_OghyTjVbTo; the corpora use it), and
// an ES256 signature over raw JSON texts, so that any header or payload reaches the checks
// behind the signature.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "token/es256.hpp"
#include "util/base64.hpp"

namespace vwr::fuzz {

inline constexpr std::string_view kFixedKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgCq7XvnUF1t1apHmD\n"
    "1odRjjJBRUOp1U56UiJwykw5hRKhRANCAASpye5y8qsPO1+DDZ3toaiqbkJkQ5wr\n"
    "xebsCL0+Qqp1xGFVyNQMqZ9mS+4voLQNKmdOF0GRPBXGYyjla4oRSwan\n"
    "-----END PRIVATE KEY-----\n";

inline token::EcPrivateKey FixedKey() {
  auto parsed = token::EcPrivateKey::FromPem(kFixedKeyPem);
  if (!parsed) {
    std::fprintf(stderr, "the fixed fuzz key does not load: %s\n", parsed.error().c_str());
    std::abort();
  }
  return *parsed;
}

// base64url(header_json).base64url(payload_json).base64url(ES256 signature by `key`).
inline std::string SignTexts(const token::EcPrivateKey& key, std::string_view header_json,
                             std::string_view payload_json) {
  std::string token = util::Base64UrlEncode(header_json);
  token += '.';
  util::Base64UrlEncodeAppend(payload_json, token);
  const token::Es256Signature signature = key.Sign(token).value();
  token += '.';
  util::Base64UrlEncodeAppend(signature, token);
  return token;
}

}  // namespace vwr::fuzz
