#pragma once

#include <atomic>
#include <boost/system/result.hpp>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "token/user_identity.hpp"
#include "util/clock.hpp"

namespace vwr::app {

// Keeps a UserIdentityVerifier's keys in step with the platform's JWKS (identity.jwks_file or
// identity.jwks_url), so that verifying a user token never waits for the network.
//
//   jwks_file  read at start (a bad file stops the start) and again when it changes (its mtime
//              and size, looked at every 2 s) or on SIGHUP; a bad new file keeps the keys in force
//   jwks_url   fetched at start (a failure is logged and retried: joins with user tokens answer
//              503 until the first fetch succeeds), then every identity.refresh, and soon after a
//              token names a kid the keys do not hold (a rotation at the platform), at most once
//              every 2 s; a failed fetch is retried after 1 s, 2 s, 4 s... up to the refresh
//              period, and keeps the keys in force
//
// The fetch runs on a thread of its own (app::HttpGet, 5 s at most): Round(), on the control
// thread, only decides when. Keys are published only when the document changed.
class UserKeys {
 public:
  static constexpr std::size_t kMaxJwksBytes = 1024 * 1024;

  UserKeys(token::UserIdentityVerifier& verifier, const util::Clock& clock,
           config::IdentityConfig config);
  ~UserKeys();
  UserKeys(const UserKeys&) = delete;
  UserKeys& operator=(const UserKeys&) = delete;

  // The first load: the file, or one fetch of the URL (which may fail without stopping).
  boost::system::result<void, std::string> Start();
  // Every tick of the control thread.
  void Round();
  // SIGHUP: read the file again, or fetch the URL now.
  void Reload();

  // Successful loads and failed ones since start (metrics, tests).
  std::uint64_t loads() const { return loads_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  // Reads or fetches the document and publishes it when it changed. Returns the error.
  std::optional<std::string> Load();
  void FetchLoop();
  void AskFetch();

  token::UserIdentityVerifier& verifier_;
  const util::Clock& clock_;
  const config::IdentityConfig config_;
  std::string last_text_;  // the document in force (on the loading thread only)

  // jwks_file: what the file looked like when read.
  std::int64_t file_mtime_ns_ = -1;
  std::int64_t file_size_ = -1;
  util::TimePoint next_file_check_{};

  // jwks_url (control thread): when to fetch next.
  util::TimePoint next_fetch_{};
  util::TimePoint last_fetch_{};
  util::Duration retry_delay_{};

  std::atomic<std::uint64_t> loads_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<bool> reload_asked_{false};

  std::mutex mu_;
  std::condition_variable wake_;
  bool fetch_asked_ = false;  // under mu_
  bool stopping_ = false;     // under mu_
  std::atomic<bool> fetching_{false};
  std::thread fetcher_;
};

}  // namespace vwr::app
