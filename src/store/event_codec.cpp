#include "store/event_codec.hpp"

#include <bit>
#include <chrono>
#include <cmath>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/drawn_order.hpp"
#include "util/varint.hpp"

namespace vwr::store {
namespace {

// The tags of the table in event_codec.hpp. On disk: never renumber, never reuse.
enum class Tag : std::uint8_t {
  kTicketIssued = 1,
  kFrontierMoved = 2,
  kTicketClaimed = 3,
  kSessionSeen = 4,
  kSessionEnded = 5,
  kCallExpired = 6,
  kPolicyChanged = 7,
  kRoomCheckpoint = 8,
  kCallRestored = 9,
  kSessionRestored = 10,
  kIdentityRestored = 11,
  kBypassAdmitted = 12,
  kBypassCheckpoint = 13,
  kTicketWithdrawn = 14,
  kWithdrawnCheckpoint = 15,
  kTicketAbandoned = 16,
  kAbandonedCheckpoint = 17,
  kTicketsDrawn = 18,
};

// Tripwires: a new event alternative, or a field added to or removed from an event or the policy,
// stops the build here instead of being silently left out of the journal. Give the changed event
// a new tag (the old tag keeps decoding the old layout), then update these.
static_assert(std::variant_size_v<core::RoomEvent> == 18,
              "a new RoomEvent alternative needs a tag in event_codec");
[[maybe_unused]] void FieldCountTripwire(
    const core::TicketIssued& a, const core::FrontierMoved& b, const core::TicketClaimed& c,
    const core::SessionSeen& d, const core::SessionEnded& e, const core::CallExpired& f,
    const core::PolicyChanged& g, const core::RoomCheckpoint& h, const core::CallRestored& i,
    const core::SessionRestored& j, const core::IdentityRestored& k, const core::Policy& l,
    const core::BypassAdmitted& m, const core::BypassCheckpoint& n, const core::TicketWithdrawn& o,
    const core::WithdrawnCheckpoint& p, const core::TicketAbandoned& q,
    const core::AbandonedCheckpoint& r, const core::TicketsDrawn& s) {
  [[maybe_unused]] const auto& [a1, a2, a3] = a;
  [[maybe_unused]] const auto& [b1, b2] = b;
  [[maybe_unused]] const auto& [c1, c2, c3] = c;
  [[maybe_unused]] const auto& [d1, d2] = d;
  [[maybe_unused]] const auto& [e1, e2, e3] = e;
  [[maybe_unused]] const auto& [f1] = f;
  [[maybe_unused]] const auto& [g1, g2] = g;
  [[maybe_unused]] const auto& [h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12] = h;
  [[maybe_unused]] const auto& [h12a, h12b] = h12;
  [[maybe_unused]] const auto& [i1, i2, i3] = i;
  [[maybe_unused]] const auto& [j1, j2, j3, j4] = j;
  [[maybe_unused]] const auto& [k1, k2, k3] = k;
  [[maybe_unused]] const auto& [l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11] = l;
  [[maybe_unused]] const auto& [m1, m2, m3] = m;
  [[maybe_unused]] const auto& [n1, n2] = n;
  [[maybe_unused]] const auto& [o1] = o;
  [[maybe_unused]] const auto& [q1] = q;
  [[maybe_unused]] const auto& [r1] = r;
  [[maybe_unused]] const auto& [p1] = p;
  [[maybe_unused]] const auto& [s1, s2] = s;
}

// Enum bytes that no valid payload holds; written only for an enum variable holding a value
// outside its enumerators (which no room produces), so that such a record fails to decode.
constexpr std::uint8_t kInvalidEnumByte = 0xff;

// --- Encoding -----------------------------------------------------------------------------------

void PutByte(std::uint8_t byte, std::string& out) { out.push_back(static_cast<char>(byte)); }

void PutVarint(std::uint64_t v, std::string& out) {
  std::uint8_t buffer[util::kMaxVarintBytes];
  const std::uint8_t* end = util::PutVarint(v, buffer);
  out.append(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(end - buffer));
}

constexpr std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

void PutSigned(std::int64_t v, std::string& out) { PutVarint(ZigZag(v), out); }

void PutMillis(std::chrono::milliseconds d, std::string& out) {
  PutSigned(static_cast<std::int64_t>(d.count()), out);
}

void PutString(std::string_view s, std::string& out) {
  PutVarint(s.size(), out);
  out.append(s);
}

void PutBool(bool b, std::string& out) { PutByte(b ? 1 : 0, out); }

void PutDouble(double d, std::string& out) {
  const auto bits = std::bit_cast<std::uint64_t>(d);
  char buffer[8];
  for (int i = 0; i < 8; ++i)
    buffer[i] = static_cast<char>(static_cast<std::uint8_t>(bits >> (8 * i)));
  out.append(buffer, sizeof buffer);
}

std::uint8_t ModeByte(core::Mode mode) {
  switch (mode) {
    case core::Mode::kFifo:
      return 0;
    case core::Mode::kPassthrough:
      return 1;
    case core::Mode::kReject:
      return 2;
    case core::Mode::kPause:
      return 3;
  }
  return kInvalidEnumByte;
}

std::uint8_t EndReasonByte(core::EndReason reason) {
  switch (reason) {
    case core::EndReason::kLeave:
      return 1;
    case core::EndReason::kIdle:
      return 2;
  }
  return kInvalidEnumByte;
}

std::uint8_t CallStatusByte(core::CallStatus status) {
  switch (status) {
    case core::CallStatus::kUnclaimed:
      return 0;
    case core::CallStatus::kClaimed:
      return 1;
    case core::CallStatus::kExpired:
      return 2;
  }
  return kInvalidEnumByte;
}

void PutTag(Tag tag, std::string& out) { PutByte(static_cast<std::uint8_t>(tag), out); }

void PutPolicy(const core::Policy& p, std::string& out) {
  PutSigned(p.max_active, out);
  PutDouble(p.admit_rate, out);
  PutSigned(p.burst, out);
  PutMillis(p.session_timeout, out);
  PutMillis(p.claim_grace, out);
  PutByte(ModeByte(p.mode), out);
  PutSigned(p.queue_limit, out);
  PutMillis(p.poll_min, out);
  PutMillis(p.poll_max, out);
}

// One overload per alternative: the tag and the fields, in the order of the header's table.
struct Encoder {
  std::string& out;

  void operator()(const core::TicketIssued& e) const {
    PutVarint(e.number, out);
    PutVarint(e.frontier_at_join, out);
    PutString(e.identity, out);
  }
  void operator()(const core::FrontierMoved& e) const {
    PutVarint(e.frontier, out);
    PutSigned(e.at_unix_ms, out);
  }
  void operator()(const core::TicketClaimed& e) const {
    PutVarint(e.number, out);
    PutSigned(e.at_unix_ms, out);
    PutBool(e.immediate, out);
  }
  void operator()(const core::SessionSeen& e) const {
    PutVarint(e.number, out);
    PutSigned(e.at_unix_ms, out);
  }
  void operator()(const core::SessionEnded& e) const {
    PutVarint(e.number, out);
    PutByte(EndReasonByte(e.reason), out);
    // A later field, written only when known: records without it end here, and read as before.
    // (A wall time: never 0 or less for a room's own records.)
    if (e.at_unix_ms > 0) PutSigned(e.at_unix_ms, out);
  }
  void operator()(const core::CallExpired& e) const { PutVarint(e.number, out); }
  void operator()(const core::PolicyChanged& e) const {
    PutPolicy(e.base, out);
    PutPolicy(e.policy, out);
    // Later fields, after both policies, written only when set: records without them (written
    // before them, or with no cap) end here, and read as before.
    const bool abandon = e.base.abandon_after_polls != 0 || e.policy.abandon_after_polls != 0;
    if (abandon || e.base.session_max.count() != 0 || e.policy.session_max.count() != 0) {
      PutMillis(e.base.session_max, out);
      PutMillis(e.policy.session_max, out);
    }
    if (abandon) {
      PutVarint(e.base.abandon_after_polls, out);
      PutVarint(e.policy.abandon_after_polls, out);
    }
  }
  void operator()(const core::RoomCheckpoint& e) const {
    for (const std::uint64_t v :
         {e.last_issued, e.frontier, e.pending_base, e.joins, e.rejected, e.full, e.admissions,
          e.immediate, e.no_shows, e.expired_sessions, e.leaves}) {
      PutVarint(v, out);
    }
    // A later field, written only once a session has ended with its length measured.
    if (!e.session_lengths.empty()) {
      for (const std::uint64_t v : e.session_lengths.buckets) PutVarint(v, out);
      PutVarint(e.session_lengths.sum_ms, out);
    }
  }
  void operator()(const core::CallRestored& e) const {
    PutVarint(e.number, out);
    PutSigned(e.called_unix_ms, out);
    PutByte(CallStatusByte(e.status), out);
  }
  void operator()(const core::SessionRestored& e) const {
    PutVarint(e.number, out);
    PutSigned(e.admitted_unix_ms, out);
    PutSigned(e.last_seen_unix_ms, out);
    PutString(e.identity, out);
  }
  void operator()(const core::IdentityRestored& e) const {
    PutVarint(e.number, out);
    PutVarint(e.frontier_at_join, out);
    PutString(e.identity, out);
  }
  void operator()(const core::BypassAdmitted& e) const {
    PutVarint(e.number, out);
    PutSigned(e.at_unix_ms, out);
    PutString(e.identity, out);
  }
  void operator()(const core::BypassCheckpoint& e) const {
    PutVarint(e.issued, out);
    PutVarint(e.bypass, out);
  }
  void operator()(const core::TicketWithdrawn& e) const { PutVarint(e.number, out); }
  void operator()(const core::WithdrawnCheckpoint& e) const { PutVarint(e.withdrawn, out); }
  void operator()(const core::TicketAbandoned& e) const { PutVarint(e.number, out); }
  void operator()(const core::AbandonedCheckpoint& e) const { PutVarint(e.abandoned, out); }
  void operator()(const core::TicketsDrawn& e) const {
    PutVarint(e.first, out);
    PutVarint(e.order.size(), out);
    for (const std::uint64_t ticket : e.order) PutVarint(ticket, out);
  }
};

template <typename T>
constexpr Tag TagOf() {
  using core::BypassAdmitted, core::BypassCheckpoint, core::CallExpired, core::CallRestored,
      core::FrontierMoved, core::IdentityRestored, core::PolicyChanged, core::RoomCheckpoint,
      core::SessionEnded, core::SessionRestored, core::SessionSeen, core::TicketClaimed,
      core::TicketIssued, core::TicketWithdrawn, core::WithdrawnCheckpoint, core::TicketAbandoned,
      core::AbandonedCheckpoint, core::TicketsDrawn;
  if constexpr (std::is_same_v<T, TicketIssued>) {
    return Tag::kTicketIssued;
  } else if constexpr (std::is_same_v<T, FrontierMoved>) {
    return Tag::kFrontierMoved;
  } else if constexpr (std::is_same_v<T, TicketClaimed>) {
    return Tag::kTicketClaimed;
  } else if constexpr (std::is_same_v<T, SessionSeen>) {
    return Tag::kSessionSeen;
  } else if constexpr (std::is_same_v<T, SessionEnded>) {
    return Tag::kSessionEnded;
  } else if constexpr (std::is_same_v<T, CallExpired>) {
    return Tag::kCallExpired;
  } else if constexpr (std::is_same_v<T, PolicyChanged>) {
    return Tag::kPolicyChanged;
  } else if constexpr (std::is_same_v<T, RoomCheckpoint>) {
    return Tag::kRoomCheckpoint;
  } else if constexpr (std::is_same_v<T, CallRestored>) {
    return Tag::kCallRestored;
  } else if constexpr (std::is_same_v<T, SessionRestored>) {
    return Tag::kSessionRestored;
  } else if constexpr (std::is_same_v<T, IdentityRestored>) {
    return Tag::kIdentityRestored;
  } else if constexpr (std::is_same_v<T, BypassAdmitted>) {
    return Tag::kBypassAdmitted;
  } else if constexpr (std::is_same_v<T, BypassCheckpoint>) {
    return Tag::kBypassCheckpoint;
  } else if constexpr (std::is_same_v<T, TicketWithdrawn>) {
    return Tag::kTicketWithdrawn;
  } else if constexpr (std::is_same_v<T, WithdrawnCheckpoint>) {
    return Tag::kWithdrawnCheckpoint;
  } else if constexpr (std::is_same_v<T, TicketAbandoned>) {
    return Tag::kTicketAbandoned;
  } else if constexpr (std::is_same_v<T, AbandonedCheckpoint>) {
    return Tag::kAbandonedCheckpoint;
  } else {
    static_assert(std::is_same_v<T, TicketsDrawn>, "every RoomEvent alternative needs a tag");
    return Tag::kTicketsDrawn;
  }
}

// --- Decoding -----------------------------------------------------------------------------------

// Reads fields from the front of a payload. Every Get returns false, and leaves its output
// unspecified, when the bytes are not exactly one valid encoding of the field.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool AtEnd() const { return p_ == end_; }

  bool GetByte(std::uint8_t& out) {
    if (p_ == end_) return false;
    out = *p_++;
    return true;
  }

  bool GetVarint(std::uint64_t& out) { return util::GetVarint(p_, end_, out); }

  bool GetSigned(std::int64_t& out) {
    std::uint64_t u = 0;
    if (!GetVarint(u)) return false;
    out = static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }

  bool GetMillis(std::chrono::milliseconds& out) {
    std::int64_t count = 0;
    if (!GetSigned(count)) return false;
    out = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(count));
    return true;
  }

  // The length is checked against `max_bytes` before anything is allocated.
  bool GetString(std::size_t max_bytes, std::string& out) {
    std::uint64_t length = 0;
    if (!GetVarint(length) || length > max_bytes ||
        length > static_cast<std::uint64_t>(end_ - p_)) {
      return false;
    }
    out.assign(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(length));
    p_ += length;
    return true;
  }

  // Bytes not read yet.
  std::size_t Remaining() const { return static_cast<std::size_t>(end_ - p_); }

  bool GetBool(bool& out) {
    std::uint8_t byte = 0;
    if (!GetByte(byte) || byte > 1) return false;
    out = byte == 1;
    return true;
  }

  bool GetFiniteDouble(double& out) {
    if (end_ - p_ < 8) return false;
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits |= std::uint64_t{*p_++} << (8 * i);
    out = std::bit_cast<double>(bits);
    return std::isfinite(out);
  }

  bool GetMode(core::Mode& out) {
    std::uint8_t byte = 0;
    if (!GetByte(byte)) return false;
    switch (byte) {
      case 0:
        out = core::Mode::kFifo;
        return true;
      case 1:
        out = core::Mode::kPassthrough;
        return true;
      case 2:
        out = core::Mode::kReject;
        return true;
      case 3:
        out = core::Mode::kPause;
        return true;
      default:
        return false;
    }
  }

  bool GetEndReason(core::EndReason& out) {
    std::uint8_t byte = 0;
    if (!GetByte(byte)) return false;
    switch (byte) {
      case 1:
        out = core::EndReason::kLeave;
        return true;
      case 2:
        out = core::EndReason::kIdle;
        return true;
      default:
        return false;
    }
  }

  bool GetCallStatus(core::CallStatus& out) {
    std::uint8_t byte = 0;
    if (!GetByte(byte)) return false;
    switch (byte) {
      case 0:
        out = core::CallStatus::kUnclaimed;
        return true;
      case 1:
        out = core::CallStatus::kClaimed;
        return true;
      case 2:
        out = core::CallStatus::kExpired;
        return true;
      default:
        return false;
    }
  }

  bool GetPolicy(core::Policy& p) {
    return GetSigned(p.max_active) && GetFiniteDouble(p.admit_rate) && GetSigned(p.burst) &&
           GetMillis(p.session_timeout) && GetMillis(p.claim_grace) && GetMode(p.mode) &&
           GetSigned(p.queue_limit) && GetMillis(p.poll_min) && GetMillis(p.poll_max);
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// Reads the fields of an event whose tag has been read. Mirrors Encoder.
bool GetFields(Reader& r, core::TicketIssued& e) {
  return r.GetVarint(e.number) && r.GetVarint(e.frontier_at_join) &&
         r.GetString(kMaxIdentityBytes, e.identity);
}
bool GetFields(Reader& r, core::FrontierMoved& e) {
  return r.GetVarint(e.frontier) && r.GetSigned(e.at_unix_ms);
}
bool GetFields(Reader& r, core::TicketClaimed& e) {
  return r.GetVarint(e.number) && r.GetSigned(e.at_unix_ms) && r.GetBool(e.immediate);
}
bool GetFields(Reader& r, core::SessionSeen& e) {
  return r.GetVarint(e.number) && r.GetSigned(e.at_unix_ms);
}
bool GetFields(Reader& r, core::SessionEnded& e) {
  if (!r.GetVarint(e.number) || !r.GetEndReason(e.reason)) return false;
  // at_unix_ms came later: a record without it ends here. Written only when above 0, so that
  // every record has one encoding.
  if (r.AtEnd()) return true;
  return r.GetSigned(e.at_unix_ms) && e.at_unix_ms > 0;
}
bool GetFields(Reader& r, core::CallExpired& e) { return r.GetVarint(e.number); }
bool GetFields(Reader& r, core::PolicyChanged& e) {
  if (!r.GetPolicy(e.base) || !r.GetPolicy(e.policy)) return false;
  // session_max came later: a record without it ends here (no cap). Written only when set, so
  // that every record has one encoding.
  if (r.AtEnd()) return true;
  if (!r.GetMillis(e.base.session_max) || !r.GetMillis(e.policy.session_max)) return false;
  // abandon_after_polls came after it: written (with session_max, 0 or not) only when set.
  if (r.AtEnd()) return e.base.session_max.count() != 0 || e.policy.session_max.count() != 0;
  std::uint64_t base = 0, policy = 0;
  if (!r.GetVarint(base) || !r.GetVarint(policy) || (base == 0 && policy == 0) ||
      base > core::kMaxAbandonAfterPolls || policy > core::kMaxAbandonAfterPolls) {
    return false;
  }
  e.base.abandon_after_polls = static_cast<std::uint32_t>(base);
  e.policy.abandon_after_polls = static_cast<std::uint32_t>(policy);
  return true;
}
bool GetFields(Reader& r, core::RoomCheckpoint& e) {
  for (std::uint64_t* v :
       {&e.last_issued, &e.frontier, &e.pending_base, &e.joins, &e.rejected, &e.full, &e.admissions,
        &e.immediate, &e.no_shows, &e.expired_sessions, &e.leaves}) {
    if (!r.GetVarint(*v)) return false;
  }
  // session_lengths came later: a record without it ends here (none measured). Written only
  // when not empty, so that every record has one encoding.
  if (r.AtEnd()) return true;
  for (std::uint64_t& v : e.session_lengths.buckets) {
    if (!r.GetVarint(v)) return false;
  }
  return r.GetVarint(e.session_lengths.sum_ms) && !e.session_lengths.empty();
}
bool GetFields(Reader& r, core::CallRestored& e) {
  return r.GetVarint(e.number) && r.GetSigned(e.called_unix_ms) && r.GetCallStatus(e.status);
}
bool GetFields(Reader& r, core::SessionRestored& e) {
  return r.GetVarint(e.number) && r.GetSigned(e.admitted_unix_ms) &&
         r.GetSigned(e.last_seen_unix_ms) && r.GetString(kMaxIdentityBytes, e.identity);
}
bool GetFields(Reader& r, core::IdentityRestored& e) {
  return r.GetVarint(e.number) && r.GetVarint(e.frontier_at_join) &&
         r.GetString(kMaxIdentityBytes, e.identity);
}
bool GetFields(Reader& r, core::BypassAdmitted& e) {
  return r.GetVarint(e.number) && r.GetSigned(e.at_unix_ms) &&
         r.GetString(kMaxIdentityBytes, e.identity);
}
bool GetFields(Reader& r, core::BypassCheckpoint& e) {
  return r.GetVarint(e.issued) && r.GetVarint(e.bypass);
}
bool GetFields(Reader& r, core::TicketWithdrawn& e) { return r.GetVarint(e.number); }
bool GetFields(Reader& r, core::WithdrawnCheckpoint& e) { return r.GetVarint(e.withdrawn); }
bool GetFields(Reader& r, core::TicketAbandoned& e) { return r.GetVarint(e.number); }
bool GetFields(Reader& r, core::AbandonedCheckpoint& e) { return r.GetVarint(e.abandoned); }
bool GetFields(Reader& r, core::TicketsDrawn& e) {
  std::uint64_t count = 0;
  // Each ticket takes a byte at least: the count is checked before anything is allocated.
  if (!r.GetVarint(e.first) || !r.GetVarint(count) || count > core::kMaxDrawnTickets ||
      count > r.Remaining()) {
    return false;
  }
  e.order.resize(static_cast<std::size_t>(count));
  for (std::uint64_t& ticket : e.order) {
    if (!r.GetVarint(ticket)) return false;
  }
  return true;
}

// Decodes the rest of the payload as a T into `decoded.event`; false unless it is exactly one T.
template <typename T>
bool DecodeAs(Reader& r, DecodedEvent& decoded) {
  T& event = decoded.event.emplace<T>();
  return GetFields(r, event) && r.AtEnd();
}

}  // namespace

void EncodeEvent(std::string_view room_id, const core::RoomEvent& event, std::string& out) {
  std::visit(
      [&](const auto& e) {
        PutTag(TagOf<std::decay_t<decltype(e)>>(), out);
        PutString(room_id, out);
        Encoder{out}(e);
      },
      event);
}

std::optional<DecodedEvent> DecodeEvent(std::span<const std::uint8_t> payload) {
  Reader r(payload);
  std::uint8_t tag = 0;
  DecodedEvent decoded;
  if (!r.GetByte(tag) || !r.GetString(kMaxRoomIdBytes, decoded.room_id)) return std::nullopt;
  bool ok = false;
  switch (static_cast<Tag>(tag)) {
    case Tag::kTicketIssued:
      ok = DecodeAs<core::TicketIssued>(r, decoded);
      break;
    case Tag::kFrontierMoved:
      ok = DecodeAs<core::FrontierMoved>(r, decoded);
      break;
    case Tag::kTicketClaimed:
      ok = DecodeAs<core::TicketClaimed>(r, decoded);
      break;
    case Tag::kSessionSeen:
      ok = DecodeAs<core::SessionSeen>(r, decoded);
      break;
    case Tag::kSessionEnded:
      ok = DecodeAs<core::SessionEnded>(r, decoded);
      break;
    case Tag::kCallExpired:
      ok = DecodeAs<core::CallExpired>(r, decoded);
      break;
    case Tag::kPolicyChanged:
      ok = DecodeAs<core::PolicyChanged>(r, decoded);
      break;
    case Tag::kRoomCheckpoint:
      ok = DecodeAs<core::RoomCheckpoint>(r, decoded);
      break;
    case Tag::kCallRestored:
      ok = DecodeAs<core::CallRestored>(r, decoded);
      break;
    case Tag::kSessionRestored:
      ok = DecodeAs<core::SessionRestored>(r, decoded);
      break;
    case Tag::kIdentityRestored:
      ok = DecodeAs<core::IdentityRestored>(r, decoded);
      break;
    case Tag::kBypassAdmitted:
      ok = DecodeAs<core::BypassAdmitted>(r, decoded);
      break;
    case Tag::kBypassCheckpoint:
      ok = DecodeAs<core::BypassCheckpoint>(r, decoded);
      break;
    case Tag::kTicketWithdrawn:
      ok = DecodeAs<core::TicketWithdrawn>(r, decoded);
      break;
    case Tag::kWithdrawnCheckpoint:
      ok = DecodeAs<core::WithdrawnCheckpoint>(r, decoded);
      break;
    case Tag::kTicketAbandoned:
      ok = DecodeAs<core::TicketAbandoned>(r, decoded);
      break;
    case Tag::kAbandonedCheckpoint:
      ok = DecodeAs<core::AbandonedCheckpoint>(r, decoded);
      break;
    case Tag::kTicketsDrawn:
      ok = DecodeAs<core::TicketsDrawn>(r, decoded);
      break;
  }
  if (!ok) return std::nullopt;
  return decoded;
}

}  // namespace vwr::store
