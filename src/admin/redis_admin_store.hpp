#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "admin/audit_log.hpp"
#include "admin/operator_store.hpp"
#include "redis/client.hpp"

namespace vwr::admin {

// The audit log and the API's operators of a cluster (store.kind: redis), shared by every node:
//
//   <prefix>:operators   a hash: name -> "<role> <token hash> <created unix>"
//   <prefix>:audit       a stream, trimmed to about `max_entries` (XADD MAXLEN ~): fields
//                        t (unix ms), o (operator), a (address), r (room), w (what), b (before),
//                        f (after)
//
// A search reads the stream newest first (XREVRANGE, 1,000 entries a round trip) within the
// range's stream ids (Redis's clock, so with five minutes' margin for nodes whose clocks differ)
// and keeps the entries whose own time and fields match.
//
// Thread-safety: every method from any thread; `done` runs on the Redis client's thread.
class RedisAdminStore final : public AuditBackend,
                              public OperatorStore,
                              public std::enable_shared_from_this<RedisAdminStore> {
 public:
  static constexpr std::size_t kDefaultMaxEntries = 100'000;

  RedisAdminStore(redis::Client& client, std::string key_prefix,
                  std::size_t max_entries = kDefaultMaxEntries);

  void Append(AuditEntry entry, std::function<void(bool stored)> done) override;
  void Search(AuditQuery query,
              std::function<void(bool ok, std::vector<AuditEntry>)> done) override;
  void LoadOperators(std::function<void(bool ok, std::vector<OperatorInfo>)> done) override;
  void AddOperator(OperatorInfo info, std::function<void(bool ok, bool created)> done) override;
  void RemoveOperator(std::string name, std::function<void(bool ok, bool existed)> done) override;

 private:
  struct Scan;
  void ScanFrom(std::shared_ptr<Scan> scan);

  redis::Client& client_;
  const std::string operators_key_;
  const std::string audit_key_;
  const std::size_t max_entries_;
};

}  // namespace vwr::admin
