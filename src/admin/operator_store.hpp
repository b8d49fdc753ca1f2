#pragma once

#include <functional>
#include <string>
#include <vector>

#include "admin/operators.hpp"

namespace vwr::admin {

// Where the operators made through the API are kept, so that they survive a restart (SQLite in
// data_dir) and every node knows them (a Redis hash under the key prefix). Only the token's hash
// is stored. Calls may block on the store's own thread, never the caller's; `done` runs exactly
// once, on any thread.
class OperatorStore {
 public:
  virtual ~OperatorStore() = default;
  virtual void LoadOperators(std::function<void(bool ok, std::vector<OperatorInfo>)> done) = 0;
  // Adds `info` unless an operator of that name is kept already (`created` false then).
  virtual void AddOperator(OperatorInfo info, std::function<void(bool ok, bool created)> done) = 0;
  virtual void RemoveOperator(std::string name,
                              std::function<void(bool ok, bool existed)> done) = 0;
};

}  // namespace vwr::admin
