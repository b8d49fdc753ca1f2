#include "analytics/redis_history.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <charconv>
#include <chrono>
#include <mutex>

namespace vwr::analytics {

namespace {

// KEYS: second, minute, hour, high-water, then the top sets: minute and hour per dimension.
// ARGV: ttl_s, ttl_m, ttl_h, ttl_tm, ttl_th, keep_m, keep_h, then
//   n_counted, (field, delta)*, n_gauges, (field, value)*, n_totals, (field, cumulative, the
//   node's delta)*,
//   then per dimension: n, (key, count)*.
constexpr const char* kAddScript = R"lua(
local ttl = {tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])}
local ttl_tm, ttl_th = tonumber(ARGV[4]), tonumber(ARGV[5])
local keep_m, keep_h = tonumber(ARGV[6]), tonumber(ARGV[7])
local i = 8
local function expire(key, seconds)
  if seconds > 0 then redis.call('EXPIRE', key, seconds) end
end
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  for k = 1, 3 do redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1]) end
  i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  for k = 1, 3 do redis.call('HSET', KEYS[k], ARGV[i], ARGV[i + 1]) end
  i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local f, total, delta = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local seen = tonumber(redis.call('HGET', KEYS[4], f))
  if seen == nil then
    -- The first report of the room: the reporting node's own delta counts; what came before
    -- any node watched does not.
    seen = total - delta
    redis.call('HSET', KEYS[4], f, seen)
  end
  if total > seen then
    redis.call('HSET', KEYS[4], f, total)
    for k = 1, 3 do redis.call('HINCRBY', KEYS[k], f, total - seen) end
  end
  i = i + 3
end
for k = 1, 3 do expire(KEYS[k], ttl[k]) end
local dims = (#KEYS - 4) / 2
for d = 1, dims do
  local tm, th = KEYS[4 + 2 * d - 1], KEYS[4 + 2 * d]
  n = tonumber(ARGV[i]); i = i + 1
  if n > 0 then
    for _ = 1, n do
      redis.call('ZINCRBY', tm, ARGV[i + 1], ARGV[i])
      redis.call('ZINCRBY', th, ARGV[i + 1], ARGV[i])
      i = i + 2
    end
    if redis.call('ZCARD', tm) > 2 * keep_m then
      redis.call('ZREMRANGEBYRANK', tm, 0, -(2 * keep_m) - 1)
    end
    if redis.call('ZCARD', th) > 2 * keep_h then
      redis.call('ZREMRANGEBYRANK', th, 0, -(2 * keep_h) - 1)
    end
    expire(tm, ttl_tm)
    expire(th, ttl_th)
  end
end
return 1
)lua";

std::string Tagged(std::string_view prefix, std::string_view room) {
  // Braces in a room id would change the hash tag: they cannot be in one (config ids), but a
  // query names any room, so they are replaced.
  std::string out(prefix);
  out += '{';
  for (char c : room) out += (c == '{' || c == '}') ? '_' : c;
  out += '}';
  return out;
}

std::string Seconds(std::chrono::seconds s) {
  return std::to_string(std::max<std::int64_t>(0, s.count()));
}

// A hash's HGETALL reply as a frame.
Frame FrameOf(const redis::Reply& reply) {
  Frame f;
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    unsigned id = 0;
    long long value = 0;
    const std::string& k = reply.elements[i].str;
    const std::string& v = reply.elements[i + 1].str;
    if (std::from_chars(k.data(), k.data() + k.size(), id).ec != std::errc() ||
        std::from_chars(v.data(), v.data() + v.size(), value).ec != std::errc()) {
      continue;
    }
    if (id < field::kCount && value > 0)
      f[static_cast<FieldId>(id)] = static_cast<std::uint64_t>(value);
  }
  return f;
}

// Runs `done` once `expected` replies have come back (on the redis thread).
template <typename State>
struct Gather {
  std::mutex mu;
  std::size_t remaining;
  bool ok = true;
  State state;
};

}  // namespace

RedisHistory::RedisHistory(redis::ClientOptions client, const util::Clock& clock,
                           Retention retention, std::string prefix)
    : prefix_(std::move(prefix)), retention_(retention), add_(kAddScript) {
  client_ = std::make_unique<redis::Client>(ioc_, std::move(client), clock);
  client_->Start();
  thread_ = std::thread([this] { ioc_.run(); });
}

RedisHistory::~RedisHistory() { Close(); }

void RedisHistory::Close() {
  if (closed_.exchange(true)) return;
  {
    std::unique_lock lock(drained_mu_);
    drained_.wait_for(lock, std::chrono::seconds(2), [this] { return in_flight() == 0; });
  }
  client_->Stop();
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

std::string RedisHistory::FrameKey(std::string_view room, Step step, std::int64_t t) const {
  const char* kind = step == Step::kSecond ? ":s:" : step == Step::kMinute ? ":m:" : ":h:";
  return Tagged(prefix_, room) + kind + std::to_string(t);
}

void RedisHistory::Append(HistoryBatch batch) {
  if (closed_.load()) return;
  const std::int64_t t = batch.second;
  const std::int64_t minute = t - t % 60;
  const std::int64_t hour = t - t % 3600;
  for (RoomSecond& s : batch.seconds) {
    const std::string base = Tagged(prefix_, s.room);
    std::vector<std::string> keys = {FrameKey(s.room, Step::kSecond, t),
                                     FrameKey(s.room, Step::kMinute, minute),
                                     FrameKey(s.room, Step::kHour, hour), base + ":hw"};
    for (std::size_t d = 0; d < kDimensionCount; ++d) {
      keys.push_back(fmt::format("{}:tm:{}:{}", base, d, minute));
      keys.push_back(fmt::format("{}:th:{}:{}", base, d, hour));
    }
    std::vector<std::string> args = {Seconds(retention_.seconds),
                                     Seconds(retention_.minutes),
                                     Seconds(retention_.hours),
                                     Seconds(retention_.top_minutes),
                                     Seconds(retention_.top_hours),
                                     std::to_string(retention_.top_minute_keys),
                                     std::to_string(retention_.top_hour_keys)};
    std::vector<std::string> counted, gauges, totals;
    for (FieldId id = 0; id < field::kCount; ++id) {
      const FieldKind kind = KindOf(id);
      if (kind == FieldKind::kGauge) {
        if (s.frame[field::kSampled] != 0) {
          gauges.push_back(std::to_string(id));
          gauges.push_back(std::to_string(s.frame[id]));
        }
      } else if (kind == FieldKind::kTotal && s.has_totals) {
        totals.push_back(std::to_string(id));
        totals.push_back(std::to_string(s.totals[id]));
        totals.push_back(std::to_string(std::min(s.frame[id], s.totals[id])));
      } else if (s.frame[id] != 0) {
        counted.push_back(std::to_string(id));
        counted.push_back(std::to_string(s.frame[id]));
      }
    }
    for (auto [list, width] : {std::pair{&counted, 2}, {&gauges, 2}, {&totals, 3}}) {
      args.push_back(std::to_string(list->size() / static_cast<std::size_t>(width)));
      args.insert(args.end(), list->begin(), list->end());
    }
    for (std::size_t d = 0; d < kDimensionCount; ++d) {
      args.push_back(std::to_string(s.top[d].size()));
      for (const TopEntry& e : s.top[d]) {
        args.push_back(e.key);
        args.push_back(std::to_string(e.count));
      }
    }
    in_flight_.fetch_add(1, std::memory_order_acq_rel);
    client_->Eval(add_, std::move(keys), std::move(args),
                  [this, room = s.room](boost::system::result<redis::Reply> reply) {
                    if (!reply || reply->is_error()) {
                      failed_.fetch_add(1, std::memory_order_relaxed);
                      spdlog::warn("analytics: a second of room {} was not written to Redis: {}",
                                   room, reply ? reply->str : reply.error().message());
                    }
                    if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                      const std::lock_guard lock(drained_mu_);
                      drained_.notify_all();
                    }
                  });
  }
}

void RedisHistory::LoadFrames(std::string room, Step step, std::int64_t from, std::int64_t to,
                              std::function<void(bool ok, Frames)> done) {
  const std::int64_t width = SecondsOf(step);
  from -= from % width;
  std::vector<std::int64_t> starts;
  for (std::int64_t t = from; t < to; t += width) starts.push_back(t);
  if (starts.empty()) return done(true, {});
  struct State {
    std::vector<std::optional<Frame>> frames;
  };
  auto gather = std::make_shared<Gather<State>>();
  gather->remaining = starts.size();
  gather->state.frames.resize(starts.size());
  auto finish = std::make_shared<std::function<void(bool, Frames)>>(std::move(done));
  for (std::size_t i = 0; i < starts.size(); ++i) {
    std::string key = FrameKey(room, step, starts[i]);
    client_->Command({"HGETALL", key}, key,
                     [gather, finish, starts, i](boost::system::result<redis::Reply> reply) {
                       bool last = false;
                       {
                         std::lock_guard lock(gather->mu);
                         if (!reply || reply->is_error()) {
                           gather->ok = false;
                         } else if (!reply->elements.empty()) {
                           gather->state.frames[i] = FrameOf(*reply);
                         }
                         last = --gather->remaining == 0;
                       }
                       if (!last) return;
                       Frames frames;
                       for (std::size_t j = 0; j < starts.size(); ++j) {
                         if (gather->state.frames[j]) {
                           frames.emplace_back(starts[j], *gather->state.frames[j]);
                         }
                       }
                       (*finish)(gather->ok, std::move(frames));
                     });
  }
}

void RedisHistory::LoadTop(std::string room, Dimension dim, Step step, std::int64_t from,
                           std::int64_t to, std::size_t k,
                           std::function<void(bool ok, TopResult)> done) {
  const std::int64_t width = SecondsOf(step == Step::kSecond ? Step::kMinute : step);
  from -= from % width;
  const std::string base = Tagged(prefix_, room);
  const char* kind = width == 60 ? "tm" : "th";
  std::vector<std::int64_t> starts;
  for (std::int64_t t = from; t < to; t += width) starts.push_back(t);
  if (starts.empty()) return done(true, {});
  struct State {
    TopTable table{4096};
    std::uint64_t seen = 0;
  };
  auto gather = std::make_shared<Gather<State>>();
  gather->remaining = 2 * starts.size();
  auto finish = std::make_shared<std::function<void(bool, TopResult)>>(std::move(done));
  const auto complete = [gather, finish, k] {
    TopResult result;
    result.entries = gather->state.table.Top(k);
    result.seen = gather->state.seen;
    (*finish)(gather->ok, std::move(result));
  };
  const std::string seen_field = std::to_string(SeenField(dim));
  const Step frame_step = width == 60 ? Step::kMinute : Step::kHour;
  for (std::int64_t t : starts) {
    std::string top_key = fmt::format("{}:{}:{}:{}", base, kind, static_cast<int>(dim), t);
    client_->Command({"ZREVRANGE", top_key, "0", std::to_string(k - 1), "WITHSCORES"}, top_key,
                     [gather, complete](boost::system::result<redis::Reply> reply) {
                       bool last = false;
                       {
                         std::lock_guard lock(gather->mu);
                         if (!reply || reply->is_error()) {
                           gather->ok = false;
                         } else {
                           const auto& e = reply->elements;
                           for (std::size_t i = 0; i + 1 < e.size(); i += 2) {
                             long long n = 0;
                             std::from_chars(e[i + 1].str.data(),
                                             e[i + 1].str.data() + e[i + 1].str.size(), n);
                             if (n > 0)
                               gather->state.table.Add(e[i].str, static_cast<std::uint64_t>(n));
                           }
                         }
                         last = --gather->remaining == 0;
                       }
                       if (last) complete();
                     });
    std::string frame_key = FrameKey(room, frame_step, t);
    client_->Command({"HGET", frame_key, seen_field}, frame_key,
                     [gather, complete](boost::system::result<redis::Reply> reply) {
                       bool last = false;
                       {
                         std::lock_guard lock(gather->mu);
                         if (!reply || reply->is_error()) {
                           gather->ok = false;
                         } else if (reply->type == redis::Reply::Type::kString) {
                           std::uint64_t n = 0;
                           std::from_chars(reply->str.data(), reply->str.data() + reply->str.size(),
                                           n);
                           gather->state.seen += n;
                         }
                         last = --gather->remaining == 0;
                       }
                       if (last) complete();
                     });
  }
}

}  // namespace vwr::analytics
