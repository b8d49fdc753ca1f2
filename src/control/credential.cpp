#include "control/credential.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/files.hpp"

namespace vwr::control {

std::optional<std::string> LoadCredential(const Credential& credential, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<std::string> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  constexpr std::size_t kMax = 4096;
  std::string secret;
  if (!credential.env.empty()) {
    const char* value = std::getenv(credential.env.c_str());
    if (value == nullptr) return fail("environment variable " + credential.env + " is not set");
    secret = value;
  } else if (!credential.file.empty()) {
    util::PrivateFile file = util::OpenPrivateFile(credential.file, util::FileSecrecy::kSecret);
    if (file.error != 0) {
      return fail(credential.file + ": " + std::strerror(file.error));
    }
    if (!file.refused.empty()) return fail(file.refused);
    char buf[kMax + 1];
    std::size_t got = 0;
    for (;;) {
      const ssize_t n = ::read(file.fd.get(), buf + got, sizeof buf - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(credential.file + ": " + std::strerror(errno));
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
      if (got == sizeof buf) break;
    }
    secret.assign(buf, got);
  }
  if (secret.size() > kMax) return fail("the secret is longer than 4 KiB");
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  return secret;
}

}  // namespace vwr::control
