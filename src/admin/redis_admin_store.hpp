#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "admin/audit_log.hpp"
#include "admin/control_store.hpp"
#include "admin/operator_store.hpp"
#include "redis/client.hpp"

namespace vwr::admin {

// The audit log and the API's operators of a cluster (store.kind: redis), shared by every node:
//
//   <prefix>:operators   a hash: name -> "<role> <token hash> <created unix>"
//   <prefix>:audit       a stream, trimmed to about `max_entries` (XADD MAXLEN ~): fields
//                        t (unix ms), o (operator), a (address), r (room), w (what), b (before),
//                        f (after)
//   <prefix>:control     a hash: traffic control's run-time changes (ControlStore), key -> JSON
//
// A search reads the stream newest first (XREVRANGE, 1,000 entries a round trip) within the
// range's stream ids (Redis's clock, so with five minutes' margin for nodes whose clocks differ)
// and keeps the entries whose own time and fields match.
//
// Thread-safety: every method from any thread; `done` runs on the Redis client's thread.
class RedisAdminStore final : public AuditBackend,
                              public OperatorStore,
                              public ControlStore,
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
  void LoadControl(std::function<void(bool ok, Entries)> done) override;
  void PutControl(std::string key, std::string value, std::function<void(bool ok)> done) override;
  void RemoveControl(std::string key, std::function<void(bool ok)> done) override;

 private:
  struct Scan;
  void ScanFrom(std::shared_ptr<Scan> scan);

  redis::Client& client_;
  const std::string operators_key_;
  const std::string audit_key_;
  const std::string control_key_;
  const std::size_t max_entries_;
};

}  // namespace vwr::admin
