#include "app/shared_keys.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "util/log_escape.hpp"

namespace vwr::app {
namespace {

// A stored value is one JWK and a number; anything much longer is not one of ours.
constexpr std::size_t kMaxValueBytes = 4096;
// While Redis stays unreachable, the failure is logged again at most this often.
constexpr std::chrono::seconds kFailureLogInterval{60};
// Rounds that fail this soon after the start are not reported: the store's client is usually
// still connecting. (A node that cannot reach Redis at all says so anyway: its store does.)
constexpr std::chrono::seconds kStartGrace{5};

std::int64_t UnixNow(const util::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.WallNow().time_since_epoch())
      .count();
}

std::string Describe(const boost::system::result<redis::Reply>& reply, const char* command) {
  if (!reply) return fmt::format("{}: {}", command, reply.error().message());
  return fmt::format("{}: {}", command, redis::ToString(*reply));
}

bool Failed(const boost::system::result<redis::Reply>& reply) {
  return !reply || reply->is_error();
}

bool Stopped(const boost::system::result<redis::Reply>& reply) {
  return !reply && reply.error() == redis::ClientError::kStopped;
}

}  // namespace

std::string EncodeSharedKey(const token::ExportedKey& key) {
  return fmt::format(R"({{"jwk":{},"notAfter":{}}})", key.jwk, key.not_after_unix);
}

std::string EncodeWithdrawnKey(std::int64_t not_after_unix) {
  return fmt::format(R"({{"withdrawn":true,"notAfter":{}}})", not_after_unix);
}

namespace {

// The notAfter of a withdrawal, or nullopt when `value` is not one.
std::optional<std::int64_t> WithdrawnUntil(std::string_view value) {
  if (value.size() > kMaxValueBytes || value.find("\"withdrawn\"") == std::string_view::npos) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(value, ec);
  const boost::json::object* object = ec ? nullptr : parsed.if_object();
  if (object == nullptr || object->size() != 2) return std::nullopt;
  const boost::json::value* withdrawn = object->if_contains("withdrawn");
  const boost::json::value* not_after = object->if_contains("notAfter");
  if (withdrawn == nullptr || !withdrawn->is_bool() || !withdrawn->as_bool() ||
      not_after == nullptr || !not_after->is_int64() || not_after->as_int64() <= 0) {
    return std::nullopt;
  }
  return not_after->as_int64();
}

}  // namespace

boost::system::result<token::PublicKeyInfo, std::string> DecodeSharedKey(std::string_view field,
                                                                         std::string_view value) {
  if (value.size() > kMaxValueBytes) {
    return fmt::format("the value is {} bytes long (at most {})", value.size(), kMaxValueBytes);
  }
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(value, ec);
  if (ec) return fmt::format("the value is not JSON ({})", ec.message());
  const boost::json::object* object = parsed.if_object();
  if (object == nullptr) return std::string("the value is not a JSON object");
  const boost::json::value* jwk = object->if_contains("jwk");
  if (jwk == nullptr || !jwk->is_object())
    return std::string("\"jwk\" is missing or not an object");
  const boost::json::value* not_after = object->if_contains("notAfter");
  if (not_after == nullptr || !(not_after->is_int64() || not_after->is_uint64())) {
    return std::string("\"notAfter\" is missing or not an integer");
  }
  if (not_after->is_uint64() || not_after->as_int64() <= 0) {
    return std::string("\"notAfter\" is out of range");
  }
  auto key = token::KeyRing::ImportKey(boost::json::serialize(*jwk), not_after->as_int64());
  if (!key) return "the JWK is refused: " + key.error();
  if (key->kid != field) {
    return fmt::format("the field is named {} but the JWK's thumbprint is {}", field, key->kid);
  }
  return std::move(*key);
}

SharedKeysPlan PlanSharedKeys(const std::vector<std::pair<std::string, std::string>>& entries,
                              std::int64_t now_unix) {
  SharedKeysPlan plan;
  for (const auto& [field, value] : entries) {
    if (const std::optional<std::int64_t> until = WithdrawnUntil(value)) {
      (*until <= now_unix ? plan.expired : plan.withdrawn).push_back(field);
      continue;
    }
    auto key = DecodeSharedKey(field, value);
    if (!key) {
      plan.invalid.emplace_back(field, key.error());
    } else if (key->not_after_unix <= now_unix) {
      plan.expired.push_back(field);
    } else {
      plan.import.push_back(std::move(*key));
    }
  }
  return plan;
}

// ---- KeySharing ----

struct KeySharing::State : std::enable_shared_from_this<KeySharing::State> {
  State(redis::Client& c, token::KeyRing& r, const util::Clock& k, std::string h)
      : client(c), ring(r), clock(k), key(std::move(h)), started(k.Now()) {}

  redis::Client& client;
  token::KeyRing& ring;
  const util::Clock& clock;
  const std::string key;
  const util::TimePoint started;

  std::atomic<bool> in_flight{false};
  std::atomic<bool> healthy{false};
  std::atomic<bool> ever{false};

  std::mutex mu;
  // Guarded by mu: own kids in the hash, as last written, with their notAfter.
  std::map<std::string, std::int64_t> published;
  std::set<std::string> reported_invalid;  // guarded by mu: field + '\n' + value, logged once
  bool down_logged = false;                // guarded by mu
  std::uint64_t failures_since_log = 0;    // guarded by mu
  util::TimePoint last_failure_log{};      // guarded by mu

  // Lookups of single kids (KeySharing::Lookup), guarded by mu: the askers waiting on each kid
  // in flight, and the kids found missing with when they may be asked again.
  std::map<std::string, std::vector<std::function<void(KeyLookup)>>, std::less<>> lookups;
  std::map<std::string, util::TimePoint, std::less<>> missing;
  std::array<std::atomic<std::uint64_t>, 4> lookup_counts{};

  // The answer to one kid's HGET (on the Redis thread): import, remember, tell the askers.
  void Looked(const std::string& kid, const boost::system::result<redis::Reply>& reply);

  // One round in progress.
  struct Run {
    std::function<void(const SharedKeysRound&)> done;
    SharedKeysRound result;
    std::vector<std::string> exported, gone;
    std::map<std::string, std::int64_t> not_after;  // of each exported kid
    int outstanding = 0;
    bool write_failed = false, gone_failed = false;
    bool stopped = false;  // the client was stopped (shutting down): nothing to report
    std::optional<boost::system::result<redis::Reply>> read;
  };

  void Start(std::function<void(const SharedKeysRound&)> done) {
    if (in_flight.exchange(true, std::memory_order_acq_rel)) {
      if (done) {
        SharedKeysRound skipped;
        skipped.error = "a round is already running";
        done(skipped);
      }
      return;
    }
    auto run = std::make_shared<Run>();
    run->done = std::move(done);
    std::vector<std::string> hset{"HSET", key};
    for (const token::ExportedKey& k : ring.ExportOwnKeys()) {
      run->exported.push_back(k.kid);
      run->not_after[k.kid] = k.not_after_unix;
      hset.push_back(k.kid);
      hset.push_back(EncodeSharedKey(k));
    }
    std::vector<std::string> withdraw{"HSET", key};
    {
      std::lock_guard lock(mu);
      for (const auto& [kid, not_after] : published) {
        if (run->not_after.contains(kid)) continue;
        run->gone.push_back(kid);
        run->not_after[kid] = not_after;
        withdraw.push_back(kid);
        withdraw.push_back(EncodeWithdrawnKey(not_after));
      }
    }
    // Sent together: on one connection the replies come back in this order, and the read sees
    // this node's keys as just written.
    run->outstanding = 1 + (run->exported.empty() ? 0 : 1) + (run->gone.empty() ? 0 : 1);
    auto self = shared_from_this();
    if (!run->exported.empty()) {
      client.Command(std::move(hset), key, [self, run](boost::system::result<redis::Reply> r) {
        run->stopped |= Stopped(r);
        if (Failed(r)) {
          run->write_failed = true;
          run->result.error = Describe(r, "HSET");
        }
        self->Step(run);
      });
    }
    if (!run->gone.empty()) {
      client.Command(std::move(withdraw), key, [self, run](boost::system::result<redis::Reply> r) {
        run->stopped |= Stopped(r);
        if (Failed(r)) {
          run->gone_failed = true;
          if (run->result.error.empty()) run->result.error = Describe(r, "HSET (withdrawal)");
        } else {
          for (const std::string& kid : run->gone) {
            spdlog::warn(
                "keys: {} withdrawn in {}: this node no longer has it; every node "
                "refuses its tokens from its next round",
                kid, self->key);
          }
        }
        self->Step(run);
      });
    }
    client.Command({"HGETALL", key}, key, [self, run](boost::system::result<redis::Reply> r) {
      run->stopped |= Stopped(r);
      run->read = std::move(r);
      self->Step(run);
    });
  }

  // A reply has come (on the Redis thread); once all have, the read is used.
  void Step(const std::shared_ptr<Run>& run) {
    if (--run->outstanding > 0) return;
    {
      std::lock_guard lock(mu);
      if (!run->write_failed) {
        published.clear();
        for (const std::string& kid : run->exported) published[kid] = run->not_after[kid];
        if (run->gone_failed) {
          for (const std::string& kid : run->gone) published[kid] = run->not_after[kid];
        }
      }
    }
    const boost::system::result<redis::Reply>& read = *run->read;
    if (run->stopped || Failed(read) || read->type != redis::Reply::Type::kArray ||
        read->elements.size() % 2 != 0) {
      if (run->result.error.empty()) {
        run->result.error = Failed(read) ? Describe(read, "HGETALL")
                                         : "HGETALL: unexpected reply " + redis::ToString(*read);
      }
      Finish(run);
      return;
    }
    std::vector<std::pair<std::string, std::string>> entries;
    entries.reserve(read->elements.size() / 2);
    for (std::size_t i = 0; i + 1 < read->elements.size(); i += 2) {
      entries.emplace_back(read->elements[i].str, read->elements[i + 1].str);
    }
    SharedKeysPlan plan = PlanSharedKeys(entries, UnixNow(clock));
    Import(plan, run->result);
    if (plan.expired.empty()) {
      Finish(run);
      return;
    }
    std::vector<std::string> hdel{"HDEL", key};
    hdel.insert(hdel.end(), plan.expired.begin(), plan.expired.end());
    auto self = shared_from_this();
    client.Command(std::move(hdel), key,
                   [self, run, expired = std::move(plan.expired)](
                       boost::system::result<redis::Reply> r) mutable {
                     run->stopped |= Stopped(r);
                     if (Failed(r)) {
                       if (run->result.error.empty()) run->result.error = Describe(r, "HDEL");
                     } else {
                       for (const std::string& kid : expired) {
                         spdlog::info("keys: deleted {} from {}: every token it signed has expired",
                                      kid, self->key);
                       }
                       run->result.deleted = std::move(expired);
                     }
                     self->Finish(run);
                   });
  }

  void Import(const SharedKeysPlan& plan, SharedKeysRound& result) {
    {
      std::lock_guard lock(mu);
      for (const auto& [field, why] : plan.invalid) {
        // Reported once per stored value (a broken entry stays until someone fixes it).
        if (reported_invalid.insert(field + '\n' + why).second) {
          spdlog::warn("keys: ignoring the entry {} in {}: {}", util::LogEscaped(field), key,
                       util::LogEscaped(why));
        }
      }
    }
    for (std::string& kid : ring.RemoveForeignKeys(plan.withdrawn)) {
      spdlog::warn("keys: {} was withdrawn by the node that owned it: its tokens are refused now",
                   kid);
      result.dropped.push_back(std::move(kid));
    }
    if (plan.import.empty()) return;
    const token::KeyRing::Snapshot& before = ring.Current();
    std::vector<std::string> candidates;
    for (const token::PublicKeyInfo& k : plan.import) {
      if (before.Find(k.kid) == nullptr) candidates.push_back(k.kid);
    }
    ring.AddForeignKeys(plan.import);
    const token::KeyRing::Snapshot& after = ring.Current();
    for (std::string& kid : candidates) {
      if (after.Find(kid) == nullptr) continue;
      spdlog::info("keys: {} (another node's key, shared through Redis) verifies tokens now", kid);
      result.added.push_back(std::move(kid));
    }
  }

  void Finish(const std::shared_ptr<Run>& run) {
    SharedKeysRound& result = run->result;
    result.ok = result.error.empty();
    const util::TimePoint now = clock.Now();
    {
      std::lock_guard lock(mu);
      if (run->stopped) {
        // Shutting down: the client failed what was still out. Nothing went wrong.
      } else if (!result.ok && !ever.load(std::memory_order_acquire) &&
                 now - started < kStartGrace) {
        // Still starting (see kStartGrace).
      } else if (result.ok) {
        if (down_logged) {
          spdlog::info("keys: sharing signing keys through Redis ({}) again", key);
        }
        down_logged = false;
        failures_since_log = 0;
      } else if (!down_logged || now - last_failure_log >= kFailureLogInterval) {
        const std::size_t known = ring.Current().keys.size();
        if (!down_logged) {
          spdlog::warn(
              "keys: cannot share signing keys through Redis ({}): {}; the {} keys known are "
              "kept, retrying",
              key, result.error, known);
        } else {
          spdlog::warn(
              "keys: still cannot share signing keys through Redis ({}): {} ({} failed rounds "
              "since the last report); the {} keys known are kept",
              key, result.error, failures_since_log + 1, known);
        }
        down_logged = true;
        last_failure_log = now;
        failures_since_log = 0;
      } else {
        ++failures_since_log;
      }
    }
    healthy.store(result.ok, std::memory_order_release);
    if (result.ok) ever.store(true, std::memory_order_release);
    auto done = std::move(run->done);
    in_flight.store(false, std::memory_order_release);
    if (done) done(result);
  }
};

// ---- one kid at once ----

std::string_view KeyLookupName(KeyLookup result) {
  switch (result) {
    case KeyLookup::kFound:
      return "found";
    case KeyLookup::kNotFound:
      return "not_found";
    case KeyLookup::kBusy:
      return "busy";
    case KeyLookup::kFailed:
      return "failed";
  }
  return "failed";
}

namespace {

// An RFC 7638 thumbprint of SHA-256, base64url without padding: 43 characters.
bool ShapedLikeKid(std::string_view kid) {
  return kid.size() == 43 && std::all_of(kid.begin(), kid.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
         });
}

}  // namespace

void KeySharing::Lookup(std::string_view kid, std::function<void(KeyLookup)> done) {
  State& s = *state_;
  const auto answer = [&s](const std::function<void(KeyLookup)>& to, KeyLookup result) {
    s.lookup_counts[static_cast<std::size_t>(result)].fetch_add(1, std::memory_order_relaxed);
    to(result);
  };
  if (s.ring.Current().Find(kid) != nullptr) return answer(done, KeyLookup::kFound);
  if (!ShapedLikeKid(kid)) return answer(done, KeyLookup::kNotFound);
  // Decided under the lock, answered outside it: an asker may call Lookup again.
  std::optional<KeyLookup> now_answer;
  {
    std::lock_guard lock(s.mu);
    if (auto it = s.missing.find(kid); it != s.missing.end() && s.clock.Now() >= it->second) {
      s.missing.erase(it);
    }
    if (s.missing.contains(kid)) {
      now_answer = KeyLookup::kNotFound;
    } else if (auto it = s.lookups.find(kid); it != s.lookups.end()) {
      if (it->second.size() >= kMaxKeyLookupWaiters) {
        now_answer = KeyLookup::kBusy;
      } else {
        it->second.push_back(std::move(done));
        return;  // answered with the lookup already in flight
      }
    } else if (s.lookups.size() >= kMaxKeyLookups) {
      now_answer = KeyLookup::kBusy;
    } else {
      s.lookups.emplace(std::string(kid), std::vector<std::function<void(KeyLookup)>>{})
          .first->second.push_back(std::move(done));
    }
  }
  if (now_answer) return answer(done, *now_answer);

  auto state = state_;
  s.client.Command({"HGET", s.key, std::string(kid)}, s.key,
                   [state, kid = std::string(kid)](boost::system::result<redis::Reply> r) {
                     state->Looked(kid, r);
                   });
}

void KeySharing::State::Looked(const std::string& kid,
                               const boost::system::result<redis::Reply>& reply) {
  KeyLookup result = KeyLookup::kNotFound;
  if (Failed(reply)) {
    result = KeyLookup::kFailed;
  } else if (reply->type == redis::Reply::Type::kString) {
    const SharedKeysPlan plan = PlanSharedKeys({{kid, reply->str}}, UnixNow(clock));
    if (!plan.import.empty()) {
      ring.AddForeignKeys(plan.import);
      if (ring.Current().Find(kid) != nullptr) {
        result = KeyLookup::kFound;
        spdlog::info(
            "keys: {} (another node's key, shared through Redis) looked up at once for a token "
            "signed with it; it verifies tokens now",
            kid);
      }
    }
  }
  std::vector<std::function<void(KeyLookup)>> waiters;
  {
    std::lock_guard lock(mu);
    if (auto it = lookups.find(kid); it != lookups.end()) {
      waiters = std::move(it->second);
      lookups.erase(it);
    }
    if (result == KeyLookup::kNotFound) {
      const util::TimePoint now = clock.Now();
      if (missing.size() >= kMaxMissingKeys) {
        std::erase_if(missing, [now](const auto& entry) { return entry.second <= now; });
      }
      // Still full: a flood of made-up kids. Forgetting them all costs at most one more lookup
      // of each, bounded by kMaxKeyLookups in flight.
      if (missing.size() >= kMaxMissingKeys) missing.clear();
      missing.emplace(kid, now + kMissingKeyMemory);
    }
  }
  lookup_counts[static_cast<std::size_t>(result)].fetch_add(waiters.size(),
                                                            std::memory_order_relaxed);
  for (auto& waiter : waiters) waiter(result);
}

std::uint64_t KeySharing::lookups(KeyLookup result) const {
  return state_->lookup_counts[static_cast<std::size_t>(result)].load(std::memory_order_relaxed);
}

KeySharing::KeySharing(redis::Client& client, token::KeyRing& ring, const util::Clock& clock,
                       std::string hash_key)
    : state_(std::make_shared<State>(client, ring, clock, std::move(hash_key))) {}

void KeySharing::Round(std::function<void(const SharedKeysRound&)> done) {
  state_->Start(std::move(done));
}

bool KeySharing::healthy() const { return state_->healthy.load(std::memory_order_acquire); }

bool KeySharing::ever_shared() const { return state_->ever.load(std::memory_order_acquire); }

const std::string& KeySharing::hash_key() const { return state_->key; }

}  // namespace vwr::app
