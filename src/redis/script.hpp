#pragma once

#include <memory>
#include <string>

namespace vwr::redis {

// A Lua script: its text and the SHA1 that EVALSHA names it by (computed once, here). Cheap to
// copy: the text is shared, so that a command can keep its script until the reply without
// copying the source for every call.
class Script {
 public:
  explicit Script(std::string source);

  const std::string& source() const { return data_->source; }
  const std::string& sha1() const { return data_->sha1; }

 private:
  struct Data {
    std::string source;
    std::string sha1;  // lower-case hex, as Redis prints it
  };
  std::shared_ptr<const Data> data_;
};

}  // namespace vwr::redis
