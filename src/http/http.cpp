#include "http/http.hpp"

#include <boost/beast/core/string.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>

namespace vwr::http {

std::string_view FieldValue(const Fields& fields, std::string_view name) {
  for (const auto& field : fields) {
    const std::string_view field_name = field.name_string();
    if (field_name.size() == name.size() && boost::beast::iequals(field_name, name)) {
      return field.value();
    }
  }
  return {};
}

Response Handler::Handle(const Request& request, const ConnectionInfo& connection) {
  struct Slot {
    std::mutex mu;
    std::condition_variable done;
    std::optional<Response> response;
  };
  auto slot = std::make_shared<Slot>();  // outlives this call should the answer come late
  Serve(request, connection, [slot](Response response) {
    {
      std::lock_guard lock(slot->mu);
      slot->response = std::move(response);
    }
    slot->done.notify_all();
  });
  std::unique_lock lock(slot->mu);
  slot->done.wait(lock, [&] { return slot->response.has_value(); });
  return std::move(*slot->response);
}

}  // namespace vwr::http
