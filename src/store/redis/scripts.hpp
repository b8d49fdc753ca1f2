#pragma once

// The Lua scripts of the Redis store (src/store/redis/*.lua), compiled in. Each room script is
// run as kPrelude followed by its own text.
namespace vwr::store::redis_scripts {

extern const char* const kPrelude;
extern const char* const kJoin;
extern const char* const kStatus;
extern const char* const kHeartbeat;
extern const char* const kLeave;
extern const char* const kLeaveAll;
extern const char* const kLeaveIdentity;
extern const char* const kTick;
extern const char* const kAdopt;
extern const char* const kSetPolicy;
extern const char* const kAdmit;
extern const char* const kWithdraw;
extern const char* const kDraw;

}  // namespace vwr::store::redis_scripts
