#include "app/room_settings.hpp"

#include <chrono>

#include "token/challenge.hpp"

namespace vwr::app {
namespace {

// The per-room admission token lifetimes the configuration sets.
api::TokenLifetimes TokenLifetimesOf(const config::Config& config) {
  api::TokenLifetimes lifetimes;
  for (const config::RoomConfig& room : config.rooms)
    lifetimes.emplace(room.id, room.TokenLifetime());
  return lifetimes;
}

// The rooms that give entry passes, and for how long.
api::EntryPasses EntryPassesOf(const config::Config& config) {
  api::EntryPasses passes;
  for (const config::RoomConfig& room : config.rooms) {
    if (room.entry_pass) {
      passes.emplace(room.id, std::chrono::duration_cast<std::chrono::seconds>(*room.entry_pass));
    }
  }
  return passes;
}

// The rooms that ask a proof of work on join.
token::PowSettings PowOf(const config::Config& config) {
  token::PowSettings pow;
  for (const config::RoomConfig& room : config.rooms) {
    if (room.pow_difficulty > 0) {
      pow.emplace(room.id, token::PowSetting{room.pow_difficulty, room.pow_challenge_lifetime});
    }
  }
  return pow;
}

}  // namespace

std::vector<http::RoomRoute> RoutesOf(const config::Config& config) {
  std::vector<http::RoomRoute> routes;
  for (const config::RoomConfig& room : config.rooms) {
    http::RoomRoute route{room.id, {}};
    for (const config::RoomMatch& m : room.match) route.match.push_back({m.host, m.path_prefix});
    routes.push_back(std::move(route));
  }
  return routes;
}

std::unordered_map<std::string, guard::GuardSettings> GuardSettingsOf(
    const config::Config& config) {
  std::unordered_map<std::string, guard::GuardSettings> out;
  for (const config::RoomConfig& room : config.rooms) {
    const config::ProtectionConfig& p = room.protection;
    guard::GuardSettings s;
    s.mode = guard::ParseGuardMode(p.mode).value_or(guard::GuardMode::kShadow);  // validated
    s.window = p.window;
    s.limit_per_ip = p.limit_per_ip;
    s.limit_per_identity = p.limit_per_identity;
    s.block_time = p.block_time;
    s.joins_mode = guard::ParseGuardMode(p.joins_mode).value_or(guard::GuardMode::kEnforce);
    s.joins_window = p.joins_window;
    s.joins_per_ip = p.joins_per_ip;
    auto fill = [](guard::GuardList list, const config::ProtectionList& from,
                   guard::GuardSettings& into) {
      auto& entries = into.lists[static_cast<std::size_t>(list)];
      for (const std::string& ip : from.ips) entries.push_back({true, ip, 0, "config"});
      for (const std::string& id : from.identities) entries.push_back({false, id, 0, "config"});
    };
    fill(guard::GuardList::kDeny, p.deny, s);
    fill(guard::GuardList::kAllow, p.allow, s);
    fill(guard::GuardList::kUnblock, p.unblock, s);
    out.emplace(room.id, std::move(s));
  }
  return out;
}

void ConfigureRooms(api::PublicApi& api, guard::AbuseGuard& guard, const config::Config& config) {
  api.SetTokenLifetimes(TokenLifetimesOf(config));
  api.SetEntryPasses(EntryPassesOf(config));
  api.SetPow(PowOf(config));
  api.SetRoutes(RoutesOf(config));
  guard.Configure(GuardSettingsOf(config));
}

}  // namespace vwr::app
