#include "guard/guard_lists.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <sstream>

#include "util/files.hpp"
#include "util/ip_range.hpp"

namespace vwr::guard {
namespace {

constexpr std::chrono::seconds kReadPeriod{1};
// How long a node that starts waits for the shared lists.
constexpr std::chrono::seconds kLoadWait{3};

std::int64_t UnixNow(const util::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.WallNow().time_since_epoch())
      .count();
}

}  // namespace

std::pair<std::string, std::string> EncodeGuardEntry(const guard::GuardChange& change) {
  std::string field = change.room;
  field += '\n';
  field += guard::GuardListName(change.list);
  field += change.entry.is_ip ? "\nip\n" : "\nidentity\n";
  field += change.entry.value;
  boost::json::object value;
  value["expires"] = change.entry.expires_unix;
  value["source"] = change.entry.source;
  return {std::move(field), boost::json::serialize(value)};
}

std::optional<guard::GuardChange> DecodeGuardEntry(std::string_view field, std::string_view value) {
  guard::GuardChange change;
  std::string_view parts[4];
  for (int i = 0; i < 3; ++i) {
    const std::size_t nl = field.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    parts[i] = field.substr(0, nl);
    field.remove_prefix(nl + 1);
  }
  parts[3] = field;
  const std::optional<guard::GuardList> list = guard::ParseGuardList(parts[1]);
  if (parts[0].empty() || !list || (parts[2] != "ip" && parts[2] != "identity") ||
      parts[3].empty()) {
    return std::nullopt;
  }
  change.room = std::string(parts[0]);
  change.list = *list;
  change.entry.is_ip = parts[2] == "ip";
  change.entry.value = std::string(parts[3]);
  if (change.entry.is_ip && !util::IpRange::Parse(change.entry.value)) return std::nullopt;
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(value, ec);
  const boost::json::object* obj = ec ? nullptr : doc.if_object();
  if (obj == nullptr) return std::nullopt;
  const boost::json::value* expires = obj->if_contains("expires");
  const boost::json::value* source = obj->if_contains("source");
  if (expires == nullptr || !expires->is_int64() || source == nullptr || !source->is_string()) {
    return std::nullopt;
  }
  change.entry.expires_unix = expires->as_int64();
  change.entry.source = std::string(source->as_string());
  return change;
}

GuardLists::GuardLists(guard::AbuseGuard& guard, const util::Clock& clock, std::string where,
                       redis::Client* client, boost::asio::any_io_executor writer)
    : guard_(guard),
      clock_(clock),
      where_(std::move(where)),
      client_(client),
      writer_(std::move(writer)),
      write_log_(clock, 1) {}

std::shared_ptr<GuardLists> GuardLists::Embedded(guard::AbuseGuard& guard, const util::Clock& clock,
                                                 std::string file,
                                                 boost::asio::any_io_executor writer) {
  return std::shared_ptr<GuardLists>(
      new GuardLists(guard, clock, std::move(file), nullptr, std::move(writer)));
}

std::shared_ptr<GuardLists> GuardLists::Shared(guard::AbuseGuard& guard, const util::Clock& clock,
                                               redis::Client& client, std::string redis_key) {
  return std::shared_ptr<GuardLists>(
      new GuardLists(guard, clock, std::move(redis_key), &client, {}));
}

bool GuardLists::Load() {
  if (client_ != nullptr) {
    // The shared lists before serving, so that a node that starts does not let in, for its
    // first second, whoever the other nodes keep out. Redis out of reach: served without them
    // until a later round reads them. (Start-up, on the main thread: waiting here blocks no
    // worker.)
    auto read = std::make_shared<std::promise<bool>>();
    auto answered = read->get_future();
    reading_.store(true);
    last_read_ = clock_.Now();
    client_->WhenConnected(kLoadWait, [self = shared_from_this(), read](bool) {
      self->Read([read](bool ok) { read->set_value(ok); });
    });
    if (answered.wait_for(kLoadWait + std::chrono::seconds(1)) != std::future_status::ready ||
        !answered.get()) {
      spdlog::warn(
          "guard: the shared lists in {} could not be read at start; serving without "
          "them until they can",
          where_);
    }
    return true;
  }
  util::PrivateFile file = util::OpenPrivateFile(where_, util::FileSecrecy::kData);
  if (file.not_regular) {
    // No one's entries can be in it: served without runtime lists (the first change says
    // that it cannot be written).
    spdlog::warn("guard: {}; no runtime list entries read", file.refused);
    return true;
  }
  if (!file.refused.empty()) {
    spdlog::error("guard: {}", file.refused);
    return false;
  }
  if (!file.fd.valid()) {
    if (file.error == ENOENT) return true;  // none yet
    spdlog::error("guard: cannot read {}: {}", where_, std::strerror(file.error));
    return false;
  }
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(file.fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      spdlog::error("guard: cannot read {}: {}", where_, std::strerror(errno));
      return false;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  std::istringstream in(text);
  std::string line;
  int number = 0;
  int applied = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    // One JSON array per line: [field, value].
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(line, ec);
    const boost::json::array* pair = ec ? nullptr : doc.if_array();
    std::optional<guard::GuardChange> change;
    if (pair != nullptr && pair->size() == 2 && (*pair)[0].is_string() && (*pair)[1].is_string()) {
      change = DecodeGuardEntry((*pair)[0].as_string(), (*pair)[1].as_string());
    }
    if (!change) {
      spdlog::warn("guard: {} line {}: not a list entry; skipped", where_, number);
      continue;
    }
    guard_.Apply(*change);
    ++applied;
  }
  spdlog::info("guard: {} runtime list entries read from {}", applied, where_);
  return true;
}

void GuardLists::OnChange(const guard::GuardChange& change) {
  if (client_ == nullptr) {
    dirty_.store(true, std::memory_order_release);
    return;
  }
  auto [field, value] = EncodeGuardEntry(change);
  Send(field, change.removed ? std::vector<std::string>{"HDEL", where_, field}
                             : std::vector<std::string>{"HSET", where_, field, value});
}

void GuardLists::Send(const std::string& field, std::vector<std::string> command) {
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    seq = ++sent_;
    outstanding_.insert(seq);
    latest_[field] = seq;
    recent_[field] = LocalWrite{seq, command.front() == "HSET" ? std::optional(command.back())
                                                               : std::nullopt};
    unrecorded_.erase(field);  // this write carries the entry's newest state
  }
  auto self = shared_from_this();
  std::vector<std::string> copy = command;  // kept to be sent again should it fail
  client_->Command(std::move(copy), where_,
                   [self, seq, field,
                    command = std::move(command)](boost::system::result<redis::Reply> r) mutable {
                     const bool ok = r && !r->is_error();
                     if (std::uint64_t suppressed = 0; !ok && self->write_log_.Allow(suppressed)) {
                       spdlog::warn("guard: cannot write a list entry to {}: {}{}", self->where_,
                                    r ? redis::ToString(*r) : r.error().message(),
                                    suppressed > 0
                                        ? fmt::format(" ({} similar lines suppressed)", suppressed)
                                        : std::string());
                     }
                     self->Written(seq, field, std::move(command), ok);
                   });
}

void GuardLists::Written(std::uint64_t seq, const std::string& field,
                         std::vector<std::string> command, bool ok) {
  std::vector<Waiter> ready;
  bool clean = false;
  {
    std::lock_guard lock(mu_);
    outstanding_.erase(seq);
    // Only the entry's newest write decides whether it is recorded.
    if (auto it = latest_.find(field); it != latest_.end() && it->second == seq) {
      latest_.erase(it);
      if (!ok) unrecorded_[field] = std::move(command);
    }
    clean = unrecorded_.empty();
    const std::uint64_t oldest = outstanding_.empty() ? sent_ + 1 : *outstanding_.begin();
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->seq < oldest) {
        ready.push_back(std::move(*it));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Waiter& waiter : ready) waiter.done(clean);
}

void GuardLists::Retry() {
  std::map<std::string, std::vector<std::string>> again;
  {
    std::lock_guard lock(mu_);
    again.swap(unrecorded_);
  }
  for (auto& [field, command] : again) Send(field, std::move(command));
}

void GuardLists::Flush(std::function<void(bool)> done) {
  if (client_ == nullptr) {
    // Written on the control thread, like the tick's writes: the caller (an admin request on a
    // worker) is answered from there once the file is durable.
    boost::asio::post(writer_, [self = shared_from_this(), done = std::move(done)] {
      bool ok = true;
      {
        std::lock_guard lock(self->file_mu_);
        if (self->dirty_.exchange(false, std::memory_order_acq_rel)) ok = self->WriteFile();
      }
      done(ok);
    });
    return;
  }
  Retry();
  bool clean = false;
  {
    std::lock_guard lock(mu_);
    if (!outstanding_.empty()) {
      waiters_.push_back(Waiter{sent_, std::move(done)});
      return;
    }
    clean = unrecorded_.empty();
  }
  done(clean);
}

void GuardLists::Round() {
  if (client_ == nullptr) {
    std::lock_guard lock(file_mu_);
    if (dirty_.exchange(false, std::memory_order_acq_rel)) WriteFile();
    return;
  }
  const util::TimePoint now = clock_.Now();
  if (now - last_read_ < kReadPeriod) return;
  if (reading_.exchange(true)) return;
  last_read_ = now;
  Retry();
  Read();
}

bool GuardLists::WriteFile() {
  std::string text;
  for (const guard::GuardChange& change : guard_.RuntimeEntries()) {
    auto [field, value] = EncodeGuardEntry(change);
    boost::json::array pair{boost::json::string(field), boost::json::string(value)};
    text += boost::json::serialize(pair);
    text += '\n';
  }
  const std::string tmp = where_ + ".tmp";
  ::unlink(tmp.c_str());  // left by a write that failed
  // The errno of the first step that failed (0: none), taken before anything can change it.
  int error = 0;
  {
    const util::Fd fd = util::CreateFile(tmp, 0600);
    if (!fd.valid() || !util::WriteAll(fd.get(), text) || ::fsync(fd.get()) != 0) error = errno;
  }
  if (error == 0) {
    std::error_code ec;
    std::filesystem::rename(tmp, where_, ec);
    error = ec.value();
  }
  // The rename is durable once the directory is.
  if (error == 0 && !util::SyncDirectory(std::filesystem::path(where_).parent_path())) {
    error = errno;
  }
  if (error != 0) {
    const std::string why = std::strerror(error);
    // Tried again at every tick while it fails: said at most once a second.
    if (std::uint64_t suppressed = 0; write_log_.Allow(suppressed)) {
      spdlog::error("guard: cannot write {}: {}{}", where_, why,
                    suppressed > 0 ? fmt::format(" ({} similar lines suppressed)", suppressed)
                                   : std::string());
    }
    dirty_.store(true, std::memory_order_release);  // tried again on the next tick
    return false;
  }
  return true;
}

void GuardLists::Read(std::function<void(bool)> then) {
  auto self = shared_from_this();
  std::uint64_t read_seq = 0;
  {
    std::lock_guard lock(mu_);
    read_seq = sent_;
  }
  client_->Command({"HGETALL", where_}, where_,
                   [self, read_seq, then = std::move(then)](boost::system::result<redis::Reply> r) {
                     const bool ok =
                         r && r->type == redis::Reply::Type::kArray && r->elements.size() % 2 == 0;
                     if (!ok) {
                       std::lock_guard lock(self->mu_);
                       if (!self->logged_failure_) {
                         spdlog::warn("guard: cannot read the shared lists from {}: {}",
                                      self->where_, r ? redis::ToString(*r) : r.error().message());
                         self->logged_failure_ = true;
                       }
                     } else {
                       std::vector<std::pair<std::string, std::string>> entries;
                       for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2) {
                         entries.emplace_back(r->elements[i].str, r->elements[i + 1].str);
                       }
                       self->Reconcile(entries, read_seq);
                     }
                     self->reading_.store(false);
                     if (then) then(ok);
                   });
}

void GuardLists::Reconcile(const std::vector<std::pair<std::string, std::string>>& entries,
                           std::uint64_t read_seq) {
  const std::int64_t now = UnixNow(clock_);
  std::map<std::string, std::string> next;
  std::vector<std::string> expired;
  std::vector<guard::GuardChange> apply;
  for (const auto& [field, value] : entries) {
    std::optional<guard::GuardChange> change = DecodeGuardEntry(field, value);
    if (!change) continue;
    if (guard::GuardListExpires(change->list) && change->entry.expires_unix <= now) {
      expired.push_back(field);
      continue;
    }
    next.emplace(field, value);
  }
  {
    std::lock_guard lock(mu_);
    logged_failure_ = false;
    // This node's writes: each is the hash's state of its entry as far as this node knows
    // (seen_), so that a read without an entry added here removes it (another node did). A
    // write the read may not hold (written after it was sent, still in flight, perhaps behind
    // it on the wire, or failed) overrides the read too: the guard keeps this node's state of
    // that entry until a later read holds the write; one the read holds is forgotten.
    auto put = [](std::map<std::string, std::string>& to, const std::string& field,
                  const std::optional<std::string>& value) {
      if (value) {
        to[field] = *value;
      } else {
        to.erase(field);
      }
    };
    for (auto it = recent_.begin(); it != recent_.end();) {
      const auto& [field, write] = *it;
      const bool unheld =
          write.seq > read_seq || latest_.contains(field) || unrecorded_.contains(field);
      put(seen_, field, write.value);
      if (unheld) put(next, field, write.value);
      it = unheld ? std::next(it) : recent_.erase(it);
    }
    for (const auto& [field, value] : next) {
      auto it = seen_.find(field);
      if (it == seen_.end() || it->second != value)
        apply.push_back(*DecodeGuardEntry(field, value));
    }
    for (const auto& [field, value] : seen_) {
      if (next.contains(field)) continue;
      std::optional<guard::GuardChange> gone = DecodeGuardEntry(field, value);
      if (!gone) continue;
      gone->removed = true;
      apply.push_back(std::move(*gone));
    }
    seen_ = std::move(next);
  }
  for (const guard::GuardChange& change : apply) guard_.Apply(change);
  if (!expired.empty()) {
    std::vector<std::string> hdel{"HDEL", where_};
    hdel.insert(hdel.end(), expired.begin(), expired.end());
    client_->Command(std::move(hdel), where_, [](boost::system::result<redis::Reply>) {});
  }
}

}  // namespace vwr::guard
