#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "analytics/history.hpp"
#include "redis/client.hpp"
#include "redis/options.hpp"
#include "redis/script.hpp"

namespace vwr::analytics {

// History in Redis, shared by every node: any node answers with the whole cluster's figures,
// and the loss of a node loses only the second it had not sent yet.
//
// Every second each node sends, per room, one Lua call (pipelined with the other rooms') that
// adds its second into three hashes, all hash-tagged by room so that one script's keys share a
// slot on a cluster:
//
//   <prefix>{room}:s:<t>        the second t           TTL retention.seconds
//   <prefix>{room}:m:<minute>   the minute             TTL retention.minutes
//   <prefix>{room}:h:<hour>     the hour               TTL retention.hours
//   <prefix>{room}:hw           the store's cumulative counts last counted (no TTL)
//   <prefix>{room}:tm:<dim>:<minute>, :th:<dim>:<hour>   sorted sets: top keys (ZINCRBY)
//
// Hash fields are the frame's field ids. Counted and derived fields are HINCRBY (nodes add
// up); gauges are HSET (the store's figures are the cluster's on every node); store totals are
// added only above the high-water in :hw, so every node may report them and each increment is
// counted once. Sorted sets are trimmed to twice the keys kept per period.
//
// Thread-safety: as History. The client's I/O runs on a thread of this object's own.
class RedisHistory final : public History {
 public:
  // `clock` paces the client's deadlines (redis::Client).
  RedisHistory(redis::ClientOptions client, const util::Clock& clock, Retention retention,
               std::string prefix = "vwr:stats:");
  ~RedisHistory() override;

  void Append(HistoryBatch batch) override;
  void LoadFrames(std::string room, Step step, std::int64_t from, std::int64_t to,
                  std::function<void(bool ok, Frames)> done) override;
  void LoadTop(std::string room, Dimension dim, Step step, std::int64_t from, std::int64_t to,
               std::size_t k, std::function<void(bool ok, TopResult)> done) override;
  bool has_seconds() const override { return true; }
  bool has_open_minute() const override { return true; }
  // Waits (up to 2 s) for the writes in flight, then stops.
  void Close() override;

  // Writes sent and not yet answered.
  std::uint64_t in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  // Batches that could not be written (Redis unreachable): those seconds are lost.
  std::uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

  bool connected() const { return client_->connected(); }

  std::string FrameKey(std::string_view room, Step step, std::int64_t t) const;

 private:
  std::string prefix_;
  Retention retention_;
  redis::Script add_;
  boost::asio::io_context ioc_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      ioc_.get_executor()};
  std::unique_ptr<redis::Client> client_;
  std::thread thread_;
  std::atomic<std::uint64_t> in_flight_{0};
  std::mutex drained_mu_;
  std::condition_variable drained_;
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace vwr::analytics
