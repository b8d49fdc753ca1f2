#include "token/key_ring.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <boost/json.hpp>

#include "util/base64.hpp"
#include "util/random.hpp"

namespace vwr::token {
namespace {

std::string EncodedHeader(std::string_view kid) {
  boost::json::object header;
  header.emplace("alg", "ES256");
  header.emplace("typ", "JWT");
  header.emplace("kid", kid);
  return util::Base64UrlEncode(boost::json::serialize(header));
}

}  // namespace

KeySet SingleKeySet(const EcPrivateKey& key, std::int64_t created_unix) {
  return KeySet{
      {KeyRecord{JwkThumbprint(key.public_key()), key.public_key(), created_unix, std::nullopt}},
      key,
      0};
}

std::string_view KeyStateName(KeyDescription::State state) {
  switch (state) {
    case KeyDescription::State::kActive:
      return "active";
    case KeyDescription::State::kRetired:
      return "retired";
    case KeyDescription::State::kForeign:
      return "foreign";
  }
  return "unknown";
}

KeyRing::KeyRing(const util::Clock& clock, std::chrono::seconds max_token_lifetime)
    : clock_(clock), max_token_lifetime_(max_token_lifetime) {
  std::lock_guard lock(mu_);
  PublishLocked();
}

std::int64_t KeyRing::NowUnix() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch())
      .count();
}

std::int64_t KeyRing::LifetimeFor(const KeySet& keys) const {
  return std::max<std::int64_t>(keys.token_lifetime_max_s, max_token_lifetime_.count());
}

void KeyRing::SetOwnKeys(const KeySet& keys) {
  std::lock_guard lock(mu_);
  KeySet kept = keys;
  const std::int64_t now = NowUnix();
  const std::int64_t lifetime = LifetimeFor(kept);
  std::erase_if(kept.keys, [&](const KeyRecord& k) {
    return k.retired_unix && RetiredKeyNotAfter(*k.retired_unix, lifetime) <= now;
  });
  // A well-formed set always keeps its active key (it is never retired); guard anyway.
  if (kept.keys.empty() || kept.keys.front().retired_unix) return;
  own_ = std::move(kept);
  PublishLocked();
}

void KeyRing::SetMaxTokenLifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(mu_);
  max_token_lifetime_ = lifetime;
}

std::chrono::seconds KeyRing::max_token_lifetime() const {
  std::lock_guard lock(mu_);
  return max_token_lifetime_;
}

boost::system::result<PublicKeyInfo, std::string> KeyRing::ImportKey(std::string_view jwk,
                                                                     std::int64_t not_after_unix) {
  auto parsed = ParseJwk(jwk);
  if (!parsed) return parsed.error();
  return PublicKeyInfo{std::move(parsed->kid), std::move(parsed->key), not_after_unix};
}

std::size_t KeyRing::AddForeignKeys(std::vector<PublicKeyInfo> keys) {
  std::lock_guard lock(mu_);
  const std::int64_t now = NowUnix();
  std::size_t added = 0;
  for (PublicKeyInfo& key : keys) {
    if (key.not_after_unix <= now) continue;
    if (own_ && std::any_of(own_->keys.begin(), own_->keys.end(),
                            [&](const KeyRecord& k) { return k.kid == key.kid; })) {
      continue;  // our own key, published back to us
    }
    auto it = foreign_.find(key.kid);
    if (it == foreign_.end()) {
      foreign_.emplace(key.kid, std::move(key));
      ++added;
    } else if (it->second.key == key.key) {
      it->second.not_after_unix = std::max(it->second.not_after_unix, key.not_after_unix);
    }
    // The same kid with another point cannot come from ParseJwk (the kid is the point's
    // thumbprint); a caller that built one by hand does not get to replace a key.
  }
  if (added > 0) PublishLocked();
  return added;
}

std::vector<std::string> KeyRing::RemoveForeignKeys(const std::vector<std::string>& kids) {
  std::lock_guard lock(mu_);
  std::vector<std::string> removed;
  for (const std::string& kid : kids) {
    if (foreign_.erase(kid) > 0) removed.push_back(kid);
  }
  if (!removed.empty()) PublishLocked();
  return removed;
}

std::vector<PublicKeyInfo> KeyRing::ForeignKeys() const {
  std::lock_guard lock(mu_);
  std::vector<PublicKeyInfo> out;
  out.reserve(foreign_.size());
  for (const auto& [kid, key] : foreign_) out.push_back(key);
  return out;
}

std::vector<ExportedKey> KeyRing::ExportOwnKeys() const {
  std::lock_guard lock(mu_);
  std::vector<ExportedKey> out;
  if (!own_) return out;
  const std::int64_t now = NowUnix();
  const std::int64_t lifetime = LifetimeFor(*own_);
  for (const KeyRecord& k : own_->keys) {
    const std::int64_t not_after = k.retired_unix ? RetiredKeyNotAfter(*k.retired_unix, lifetime)
                                                  : RetiredKeyNotAfter(now, lifetime);
    out.push_back(ExportedKey{k.kid, ToJwk(k.key, k.kid), not_after});
  }
  return out;
}

std::vector<std::string> KeyRing::Prune() {
  std::lock_guard lock(mu_);
  const std::int64_t now = NowUnix();
  std::vector<std::string> pruned;
  if (own_) {
    const std::int64_t lifetime = LifetimeFor(*own_);
    std::erase_if(own_->keys, [&](const KeyRecord& k) {
      if (!k.retired_unix || RetiredKeyNotAfter(*k.retired_unix, lifetime) > now) return false;
      pruned.push_back(k.kid);
      return true;
    });
  }
  std::erase_if(foreign_, [&](const auto& entry) {
    if (entry.second.not_after_unix > now) return false;
    pruned.push_back(entry.first);
    return true;
  });
  if (!pruned.empty()) PublishLocked();
  return pruned;
}

std::vector<KeyDescription> KeyRing::Describe() const {
  std::lock_guard lock(mu_);
  std::vector<KeyDescription> out;
  if (own_) {
    const std::int64_t lifetime = LifetimeFor(*own_);
    for (const KeyRecord& k : own_->keys) {
      KeyDescription d;
      d.kid = k.kid;
      d.created_unix = k.created_unix;
      if (k.retired_unix) {
        d.state = KeyDescription::State::kRetired;
        d.retired_unix = k.retired_unix;
        d.not_after_unix = RetiredKeyNotAfter(*k.retired_unix, lifetime);
      }
      out.push_back(std::move(d));
    }
  }
  for (const auto& [kid, key] : foreign_) {
    KeyDescription d;
    d.kid = kid;
    d.state = KeyDescription::State::kForeign;
    d.not_after_unix = key.not_after_unix;
    out.push_back(std::move(d));
  }
  return out;
}

void KeyRing::PublishLocked() {
  Snapshot next;
  std::string jwks = R"({"keys":[)";
  bool first = true;
  auto add = [&](const std::string& kid, const EcPublicKey& key) {
    if (!next.keys.emplace(kid, key).second) return;  // listed once
    if (!first) jwks += ',';
    first = false;
    jwks += ToJwk(key, kid);
  };
  if (own_) {
    const KeyRecord& active = own_->active();
    next.signer = Signer{active.kid, own_->active_private, EncodedHeader(active.kid)};
    for (const KeyRecord& k : own_->keys) add(k.kid, k.key);
  }
  for (const auto& [kid, key] : foreign_) add(kid, key.key);
  jwks += "]}";

  const Snapshot& previous = current_.Get();
  const bool same_signer = previous.signer.has_value() == next.signer.has_value() &&
                           (!next.signer || previous.signer->kid == next.signer->kid);
  if (previous.jwks == jwks && same_signer && !previous.jwks.empty()) return;  // nothing changed
  const bool lost_a_key = std::any_of(
      previous.keys.begin(), previous.keys.end(),
      [&](const auto& entry) { return next.keys.find(entry.first) == next.keys.end(); });
  next.epoch = previous.epoch + (lost_a_key ? 1 : 0);

  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest;
  SHA256(reinterpret_cast<const unsigned char*>(jwks.data()), jwks.size(), digest.data());
  next.jwks_etag = "\"" + util::HexEncode(std::span(digest).first(16)) + "\"";
  next.jwks = std::move(jwks);
  current_.Publish(std::move(next));
}

}  // namespace vwr::token
