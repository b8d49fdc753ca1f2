#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "api/public_api.hpp"
#include "config/config.hpp"
#include "guard/abuse_guard.hpp"
#include "http/room_routes.hpp"

namespace vwr::app {

// The rooms' match rules (host and path prefix), for /api/v1/verify and the TRACER API.
std::vector<http::RoomRoute> RoutesOf(const config::Config& config);

// The rooms' abuse protection settings and configured lists (rooms[].protection).
std::unordered_map<std::string, guard::GuardSettings> GuardSettingsOf(const config::Config& config);

// What the public API and the guard take from the rooms' configuration (token lifetimes, entry
// passes, proof of work, match rules, protection); at start and on every reload.
void ConfigureRooms(api::PublicApi& api, guard::AbuseGuard& guard, const config::Config& config);

}  // namespace vwr::app
