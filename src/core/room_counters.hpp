#pragma once

#include <cstdint>

namespace vwr::core {

// Running totals since the room was created, for metrics.
struct RoomCounters {
  std::uint64_t joins = 0;             // joins that got a new ticket
  std::uint64_t rejoins = 0;           // joins answered with the ticket the userId held (not
                                       // durable: it restarts from 0 with the process)
  std::uint64_t rejected = 0;          // joins refused: mode reject
  std::uint64_t full = 0;              // joins refused: queue_limit
  std::uint64_t admissions = 0;        // sessions created from the line (claims, and joins
                                       // admitted at once); bypass admissions are not in it
  std::uint64_t immediate = 0;         // of which without waiting
  std::uint64_t bypass = 0;            // sessions created without a place in line (Room::Admit:
                                       // an entry pass, an allow list); not in `admissions`, so
                                       // admissions + bypass is every session ever created
  std::uint64_t no_shows = 0;          // called tickets never claimed
  std::uint64_t expired_sessions = 0;  // sessions ended by idleness or at session_max (from the
                                       // line or bypass)
  std::uint64_t leaves = 0;            // sessions ended by leave (from the line or bypass)
  std::uint64_t withdrawn = 0;         // places given back before their session began (Withdraw)
  std::uint64_t abandoned = 0;         // waiting tickets the frontier passed without a call: they
                                       // had stopped polling (Policy::abandon_after_polls)
};

}  // namespace vwr::core
