#include "token/key_keeper.hpp"

#include <algorithm>

namespace vwr::token {
namespace {

bool SameKeys(const KeySet& a, const KeySet& b) {
  return a.keys.size() == b.keys.size() && std::equal(a.keys.begin(), a.keys.end(), b.keys.begin(),
                                                      [](const KeyRecord& x, const KeyRecord& y) {
                                                        return x.kid == y.kid &&
                                                               x.retired_unix == y.retired_unix;
                                                      });
}

void AddUnique(std::vector<std::string>& to, const std::vector<std::string>& from) {
  for (const std::string& kid : from) {
    if (std::find(to.begin(), to.end(), kid) == to.end()) to.push_back(kid);
  }
}

}  // namespace

boost::system::result<std::unique_ptr<KeyKeeper>, std::string> KeyKeeper::Open(
    KeyRing& ring, const util::Clock& clock, KeyKeeperOptions options, KeyEvents* events) {
  auto dir = KeyDirectory::Open(options.dir);
  if (!dir) return dir.error();
  std::unique_ptr<KeyKeeper> keeper(new KeyKeeper(ring, clock, std::move(options), *dir));
  const std::optional<FileStamp> stamp = keeper->dir_.Stamp();
  auto loaded = keeper->dir_.LoadOrCreate(keeper->NowUnix(), ring.max_token_lifetime().count());
  if (!loaded) return loaded.error();
  KeyEvents opened;
  if (loaded->created) opened.created = loaded->keys.active().kid;
  keeper->Adopt(std::move(loaded->keys), stamp, opened);
  // The stamp was taken before reading: a change made meanwhile is read at the next Maintain.
  if (events != nullptr) *events = std::move(opened);
  return keeper;
}

std::int64_t KeyKeeper::NowUnix() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch())
      .count();
}

void KeyKeeper::Adopt(KeySet keys, std::optional<FileStamp> stamp, KeyEvents& events) {
  if (keys_ && keys_->active().kid != keys.active().kid && !events.created) {
    events.active = keys.active().kid;
  }
  keys_ = std::move(keys);
  stamp_ = stamp;
  ring_.SetOwnKeys(*keys_);
}

KeyEvents KeyKeeper::Maintain(bool reload) {
  KeyEvents events;
  const std::int64_t now = NowUnix();

  // 1. Changes made by another process.
  const std::optional<FileStamp> stamp = dir_.Stamp();
  if (reload || !keys_ || stamp != stamp_) {
    auto keys = dir_.Load();
    if (keys) {
      events.reloaded = !keys_ || !SameKeys(*keys_, *keys);
      Adopt(std::move(*keys), stamp, events);
      bad_stamp_.reset();
    } else if (reload || !bad_stamp_ || stamp != bad_stamp_) {
      // Reported once per broken version; the keys in use are kept meanwhile.
      events.errors.push_back(keys.error() + "; the keys in use are kept");
      bad_stamp_ = stamp;
    }
  }

  // 2. Rotation and pruning that are due, done in the directory (whichever node gets there
  //    first; the others read its result).
  if (keys_ && now >= next_change_attempt_) {
    const std::int64_t lifetime = ring_.max_token_lifetime().count();
    const std::int64_t kept_for = std::max(lifetime, keys_->token_lifetime_max_s);
    const bool rotate_due = options_.rotate_after.count() > 0 &&
                            now - keys_->active().created_unix >= options_.rotate_after.count();
    const bool tidy_due =
        keys_->token_lifetime_max_s < lifetime ||
        std::any_of(keys_->keys.begin(), keys_->keys.end(), [&](const KeyRecord& k) {
          return k.retired_unix && RetiredKeyNotAfter(*k.retired_unix, kept_for) <= now;
        });
    if (rotate_due || tidy_due) {
      auto changed = rotate_due ? dir_.Rotate(now, lifetime, options_.rotate_after.count())
                                : dir_.Tidy(now, lifetime);
      if (changed) {
        events.created = changed->created;
        events.retired = changed->retired;
        AddUnique(events.pruned, changed->pruned);
        // Our own write: read the directory again at the next call to learn its stamp.
        Adopt(std::move(changed->keys), std::nullopt, events);
      } else {
        events.errors.push_back(std::string(rotate_due ? "automatic key rotation" : "key pruning") +
                                " failed: " + changed.error());
        next_change_attempt_ = now + options_.retry_after_failure.count();
      }
    }
  }

  // 3. Whatever has expired in memory (foreign keys; own keys the directory could not drop).
  AddUnique(events.pruned, ring_.Prune());
  return events;
}

boost::system::result<KeyEvents, std::string> KeyKeeper::Rotate() {
  auto changed = dir_.Rotate(NowUnix(), ring_.max_token_lifetime().count());
  if (!changed) {
    return boost::system::result<KeyEvents, std::string>(boost::system::in_place_error,
                                                         changed.error());
  }
  KeyEvents events;
  events.created = changed->created;
  events.retired = changed->retired;
  AddUnique(events.pruned, changed->pruned);
  Adopt(std::move(changed->keys), std::nullopt, events);
  return events;
}

}  // namespace vwr::token
