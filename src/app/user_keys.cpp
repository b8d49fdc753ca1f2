#include "app/user_keys.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "app/http_get.hpp"
#include "util/log_escape.hpp"

namespace vwr::app {
namespace {

constexpr std::chrono::seconds kFileCheckPeriod{2};
constexpr std::chrono::seconds kMinRefetchGap{2};
constexpr std::chrono::seconds kFirstRetry{1};
constexpr std::chrono::milliseconds kFetchTimeout{5000};

}  // namespace

UserKeys::UserKeys(token::UserIdentityVerifier& verifier, const util::Clock& clock,
                   config::IdentityConfig config)
    : verifier_(verifier), clock_(clock), config_(std::move(config)), retry_delay_(kFirstRetry) {}

UserKeys::~UserKeys() {
  {
    const std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (fetcher_.joinable()) fetcher_.join();
}

std::optional<std::string> UserKeys::Load() {
  std::string text;
  if (!config_.jwks_file.empty()) {
    struct stat st {};
    if (::stat(config_.jwks_file.c_str(), &st) != 0) {
      return "cannot read " + config_.jwks_file + ": " + std::strerror(errno);
    }
    if (st.st_size > static_cast<off_t>(kMaxJwksBytes)) {
      return config_.jwks_file + " is larger than 1 MiB: not a JWKS";
    }
    std::ifstream in(config_.jwks_file, std::ios::binary);
    std::ostringstream all;
    all << in.rdbuf();
    if (!in && !in.eof()) return "cannot read " + config_.jwks_file;
    text = all.str();
    file_mtime_ns_ =
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    file_size_ = static_cast<std::int64_t>(st.st_size);
  } else {
    auto got = HttpGet(config_.jwks_url, kFetchTimeout, kMaxJwksBytes);
    if (!got) return "cannot fetch " + config_.jwks_url + ": " + got.error();
    if (got->status != 200) {
      return "cannot fetch " + config_.jwks_url + ": HTTP " + std::to_string(got->status);
    }
    text = std::move(got->body);
  }
  if (text == last_text_) return std::nullopt;  // unchanged: nothing to publish
  auto keys = token::ParseJwks(text);
  if (!keys) return "the platform's JWKS is not usable: " + keys.error();
  for (const std::string& skipped : keys->skipped) {
    spdlog::info("identity: JWKS {} skipped (not a signing key VWR verifies with)",
                 util::LogEscaped(skipped));
  }
  const std::size_t count = keys->by_kid.size();
  verifier_.SetKeys(std::move(*keys));
  last_text_ = std::move(text);
  loads_.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("identity: {} key(s) of the platform's JWKS in force (from {})", count,
               config_.jwks_file.empty() ? config_.jwks_url : config_.jwks_file);
  return std::nullopt;
}

boost::system::result<void, std::string> UserKeys::Start() {
  if (!config_.jwks_file.empty()) {
    if (std::optional<std::string> error = Load()) return *error;
    next_file_check_ = clock_.Now() + kFileCheckPeriod;
    return {};
  }
  // The first fetch on this thread, before serving: with luck the keys are there at once.
  const std::optional<std::string> error = Load();
  last_fetch_ = clock_.Now();
  if (error) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error(
        "identity: {}; joins with a user token are answered 503 until it works "
        "(retrying)",
        *error);
    next_fetch_ = last_fetch_ + retry_delay_;
  } else {
    next_fetch_ = last_fetch_ + config_.refresh;
  }
  fetcher_ = std::thread([this] { FetchLoop(); });
  return {};
}

void UserKeys::AskFetch() {
  {
    const std::lock_guard lock(mu_);
    fetch_asked_ = true;
  }
  wake_.notify_one();
}

void UserKeys::Round() {
  const util::TimePoint now = clock_.Now();
  if (!config_.jwks_file.empty()) {
    // Asked for by an unknown kid too: a file changes only when someone writes it.
    (void)verifier_.TakeRefreshRequest();
    if (now < next_file_check_) return;
    next_file_check_ = now + kFileCheckPeriod;
    struct stat st {};
    if (::stat(config_.jwks_file.c_str(), &st) != 0) return;  // logged when a read fails
    const std::int64_t mtime =
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (mtime == file_mtime_ns_ && static_cast<std::int64_t>(st.st_size) == file_size_) return;
    if (std::optional<std::string> error = Load()) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      // Not again until it changes once more.
      file_mtime_ns_ = mtime;
      file_size_ = static_cast<std::int64_t>(st.st_size);
      spdlog::error("identity: {}; the keys in force are kept", *error);
    }
    return;
  }
  // While a fetch runs, its thread owns next_fetch_ and retry_delay_ (it sets them from the
  // outcome before it clears fetching_).
  if (fetching_.load(std::memory_order_acquire)) return;
  bool due = now >= next_fetch_ || reload_asked_.exchange(false, std::memory_order_acq_rel);
  if (!due && verifier_.TakeRefreshRequest() && now - last_fetch_ >= kMinRefetchGap) due = true;
  if (!due) return;
  last_fetch_ = now;
  fetching_.store(true, std::memory_order_release);
  AskFetch();
}

void UserKeys::Reload() {
  if (!config_.jwks_file.empty()) {
    if (std::optional<std::string> error = Load()) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("identity: {}; the keys in force are kept", *error);
    }
    return;
  }
  reload_asked_.store(true, std::memory_order_release);  // fetched at the next round
}

void UserKeys::FetchLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return fetch_asked_ || stopping_; });
    if (stopping_) return;
    fetch_asked_ = false;
    lock.unlock();
    const std::optional<std::string> error = Load();
    lock.lock();
    // The control thread reads these only once fetching_ is false again.
    const util::TimePoint now = clock_.Now();
    if (error) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("identity: {}; the keys in force are kept (retrying in {} s)", *error,
                    std::chrono::duration_cast<std::chrono::seconds>(retry_delay_).count());
      next_fetch_ = now + retry_delay_;
      retry_delay_ = std::min<util::Duration>(retry_delay_ * 2, config_.refresh);
    } else {
      retry_delay_ = kFirstRetry;
      next_fetch_ = now + config_.refresh;
    }
    fetching_.store(false, std::memory_order_release);
  }
}

}  // namespace vwr::app
