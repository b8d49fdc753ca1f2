#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <string>
#include <type_traits>
#include <vector>

namespace vwr::redis {

// A reply copied out of hiredis, so that it outlives the hiredis callback.
struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  long long integer = 0;
  std::string str;              // kString, kStatus, kError
  std::vector<Reply> elements;  // kArray

  bool is_error() const { return type == Type::kError; }
};

// Why a command has no reply. An error reply from Redis is not one of these: it is a Reply of
// Type::kError. For a write, every one of them except kStopped-before-sending means "may or may
// not have been executed".
enum class ClientError {
  kTimeout = 1,   // no reply within command_timeout
  kDisconnected,  // no live connection to the node that serves the key (or it was lost)
  kProtocol,      // the command cannot be sent as given (e.g. keys in several cluster slots)
  kClusterDown,   // the cluster kept answering CLUSTERDOWN or redirecting until the deadline
  kStopped,       // the client was stopped
};

const boost::system::error_category& ClientErrorCategory();
boost::system::error_code make_error_code(ClientError e);

// A short text for logs and test failures: "nil", "42", "\"text\"", "+OK", "-ERR ...", "[...]".
std::string ToString(const Reply& reply);

}  // namespace vwr::redis

template <>
struct boost::system::is_error_code_enum<vwr::redis::ClientError> : std::true_type {};
