#include "redis/reply.hpp"

namespace vwr::redis {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "vwr.redis"; }
  std::string message(int value) const override {
    switch (static_cast<ClientError>(value)) {
      case ClientError::kTimeout:
        return "redis command timed out";
      case ClientError::kDisconnected:
        return "no connection to redis";
      case ClientError::kProtocol:
        return "command cannot be sent to redis as given";
      case ClientError::kClusterDown:
        return "redis cluster is down or reconfiguring";
      case ClientError::kStopped:
        return "redis client stopped";
    }
    return "unknown redis client error";
  }
};

}  // namespace

const boost::system::error_category& ClientErrorCategory() {
  static const Category category;
  return category;
}

boost::system::error_code make_error_code(ClientError e) {
  return {static_cast<int>(e), ClientErrorCategory()};
}

std::string ToString(const Reply& reply) {
  switch (reply.type) {
    case Reply::Type::kNil:
      return "nil";
    case Reply::Type::kInteger:
      return std::to_string(reply.integer);
    case Reply::Type::kString:
      return "\"" + reply.str + "\"";
    case Reply::Type::kStatus:
      return "+" + reply.str;
    case Reply::Type::kError:
      return "-" + reply.str;
    case Reply::Type::kArray: {
      std::string out = "[";
      for (std::size_t i = 0; i < reply.elements.size(); ++i) {
        if (i > 0) out += ", ";
        out += ToString(reply.elements[i]);
      }
      return out + "]";
    }
  }
  return "?";
}

}  // namespace vwr::redis
