#include "redis/script.hpp"

#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <utility>

#include "util/random.hpp"

namespace vwr::redis {

Script::Script(std::string source) {
  std::array<std::uint8_t, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(source.data()), source.size(), digest.data());
  data_ = std::make_shared<const Data>(Data{std::move(source), util::HexEncode(digest)});
}

}  // namespace vwr::redis
