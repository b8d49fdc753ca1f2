#include "loadgen/answers.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>

namespace vwr::loadgen {
namespace json = boost::json;
namespace {

std::optional<std::int64_t> IntOf(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return std::nullopt;
}

std::string_view StringOf(const json::value* v) {
  if (v == nullptr || !v->is_string()) return {};
  const json::string& s = v->get_string();
  return {s.data(), s.size()};
}

// <Parameter id="NAME" type="String">VALUE</Parameter>
std::optional<std::string_view> XmlParameter(std::string_view body, std::string_view name) {
  std::string key = "id=\"";
  key += name;
  key += '"';
  const std::size_t at = body.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t open = body.find('>', at);
  if (open == std::string_view::npos) return std::nullopt;
  const std::size_t close = body.find('<', open);
  if (close == std::string_view::npos) return std::nullopt;
  return body.substr(open + 1, close - open - 1);
}

std::int64_t ToInt(std::string_view s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

const char* StatusName(TicketAnswer::Status s) {
  switch (s) {
    case TicketAnswer::Status::kWaiting:
      return "waiting";
    case TicketAnswer::Status::kAdmitted:
      return "admitted";
    case TicketAnswer::Status::kExpired:
      return "expired";
    case TicketAnswer::Status::kRejected:
      return "rejected";
    case TicketAnswer::Status::kFull:
      return "full";
    case TicketAnswer::Status::kOther:
      return "other";
  }
  return "other";
}

std::optional<TicketAnswer> ParseTicketAnswer(std::string_view body) {
  // Answers are a few hundred bytes (a token makes them about a kilobyte): parsed in a buffer on
  // the stack, no heap allocation on the way.
  unsigned char buffer[4096];
  json::monotonic_resource resource(buffer, sizeof(buffer));
  boost::system::error_code ec;
  const json::value root = json::parse(body, ec, &resource);
  if (ec || !root.is_object()) return std::nullopt;
  const json::object& o = root.get_object();
  const std::string_view status = StringOf(o.if_contains("status"));
  if (status.empty()) return std::nullopt;
  TicketAnswer a;
  if (status == "waiting") {
    a.status = TicketAnswer::Status::kWaiting;
  } else if (status == "admitted") {
    a.status = TicketAnswer::Status::kAdmitted;
  } else if (status == "expired") {
    a.status = TicketAnswer::Status::kExpired;
  } else if (status == "rejected") {
    a.status = TicketAnswer::Status::kRejected;
  } else if (status == "full") {
    a.status = TicketAnswer::Status::kFull;
  }
  a.ticket = std::string(StringOf(o.if_contains("ticket")));
  a.position = IntOf(o.if_contains("position")).value_or(0);
  a.eta_seconds = IntOf(o.if_contains("etaSeconds"));
  a.poll_after_ms = IntOf(o.if_contains("pollAfterMs")).value_or(0);
  a.token = std::string(StringOf(o.if_contains("token")));
  a.session_timeout_seconds = IntOf(o.if_contains("sessionTimeoutSeconds")).value_or(0);
  if (const json::value* range = o.if_contains("etaRange")) {
    if (range->is_array() && range->get_array().size() == 2) {
      a.eta_low = IntOf(&range->get_array()[0]);
      a.eta_high = IntOf(&range->get_array()[1]);
    } else if (range->is_object()) {
      a.eta_low = IntOf(range->get_object().if_contains("low"));
      a.eta_high = IntOf(range->get_object().if_contains("high"));
    }
    if (!a.eta_low || !a.eta_high) a.eta_low = a.eta_high = std::nullopt;
  }
  return a;
}

std::optional<TracerAnswer> ParseTracerAnswer(std::string_view body) {
  TracerAnswer a;
  if (!body.empty() && body.front() == '{') {
    boost::system::error_code ec;
    const json::value root = json::parse(body, ec);
    if (ec || !root.is_object()) return std::nullopt;
    const json::object& o = root.get_object();
    const std::string_view is_wait = StringOf(o.if_contains("isWait"));
    if (is_wait.empty()) return std::nullopt;
    a.is_wait = std::string(is_wait);
    a.wait_count = ToInt(StringOf(o.if_contains("waitCnt")));
    a.wait_my_count = ToInt(StringOf(o.if_contains("waitMyCnt")));
    return a;
  }
  const auto is_wait = XmlParameter(body, "isWait");
  if (!is_wait || is_wait->empty()) return std::nullopt;
  a.is_wait = std::string(*is_wait);
  a.wait_count = ToInt(XmlParameter(body, "waitCnt").value_or(""));
  a.wait_my_count = ToInt(XmlParameter(body, "waitMyCnt").value_or(""));
  return a;
}

std::optional<RoomInfo> ParseRoomInfo(std::string_view body) {
  boost::system::error_code ec;
  const json::value root = json::parse(body, ec);
  if (ec || !root.is_object()) return std::nullopt;
  const json::object& o = root.get_object();
  RoomInfo info;
  info.mode = std::string(StringOf(o.if_contains("mode")));
  info.max_active = IntOf(o.if_contains("maxActive")).value_or(-1);
  if (const json::value* rate = o.if_contains("admitRate")) {
    info.admit_rate =
        rate->is_double() ? rate->get_double() : static_cast<double>(IntOf(rate).value_or(0));
  }
  return info;
}

}  // namespace vwr::loadgen
