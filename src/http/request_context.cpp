#include "http/request_context.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

namespace vwr::http {

RequestPipeline::RequestPipeline(const util::Clock& clock, ApiMetrics& metrics, Options options)
    : clock_(clock),
      metrics_(metrics),
      options_(std::move(options)),
      error_log_(clock, options_.error_lines_per_second) {}

void RequestPipeline::SetErrorLinesPerSecond(Endpoint endpoint, std::uint32_t lines_per_second) {
  endpoint_logs_[static_cast<std::size_t>(endpoint)] =
      std::make_unique<ErrorLog>(clock_, lines_per_second);
}

RequestContext RequestPipeline::Begin(const Request& request, const ConnectionInfo& connection,
                                      Respond respond) {
  return RequestContext(*this, request, connection, std::move(respond));
}

RequestContext::RequestContext(RequestPipeline& pipeline, const Request& request,
                               const ConnectionInfo& connection, Respond respond)
    : pipeline_(&pipeline),
      request_(&request),
      connection_(&connection),
      respond_(std::move(respond)),
      start_(pipeline.clock_.Now()),
      version_(request.version()),
      keep_alive_(request.keep_alive()) {}

const boost::asio::ip::address& RequestContext::client_ip() {
  if (!client_ip_) {
    client_ip_ = ClientIp(*request_, *connection_, pipeline_->options_.trusted_proxies);
  }
  return *client_ip_;
}

guard::GuardVerdict RequestContext::Guard(std::string_view room, std::string_view identity,
                                          bool verified, guard::GuardRequestKind kind) {
  if (room_.empty()) room_ = room;
  guard::Guard* guard = pipeline_->options_.guard;
  if (guard == nullptr) return {};
  guard::GuardVerdict verdict =
      guard->Check(guard::GuardRequest{room, client_ip(), identity, verified, kind});
  blocked_ = verdict.action == guard::GuardAction::kBlock;
  return verdict;
}

RequestContext::Visitor RequestContext::visitor() const {
  Visitor v = visitor_;
  if (!kept_page_url_.empty()) v.page_url = kept_page_url_;
  if (!kept_user_.empty()) v.user = kept_user_;
  if (v.host.empty()) v.host = (*request_)[field::host];
  if (v.user_agent.empty()) v.user_agent = (*request_)[field::user_agent];
  return v;
}

Response RequestContext::ErrorResponse(ApiError error, std::string_view message) const {
  return MakeError(error, message, version_, keep_alive_);
}

Response RequestContext::JsonResponse(status code, std::string body) const {
  return MakeJson(code, std::move(body), version_, keep_alive_);
}

Response RequestContext::EmptyResponse(status code) const {
  Response res{code, version_};
  res.keep_alive(keep_alive_);
  return res;
}

Response RequestContext::BlockedResponse(const guard::GuardVerdict& verdict) const {
  const bool permanent = verdict.retry_after.count() == 0;
  Response res = ErrorResponse(ApiError::kBlocked,
                               permanent ? "this client is blocked in this room"
                                         : "too many requests from this client; try again later");
  // A permanent block has no end to wait for: come back in an hour, not in a second.
  const auto retry = permanent ? std::chrono::seconds(3600) : verdict.retry_after;
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, retry.count());
  res.set(field::retry_after, std::string_view(digits, static_cast<std::size_t>(end - digits)));
  return res;
}

std::shared_ptr<RequestContext> RequestContext::Share() && {
  if (std::shared_ptr<RequestContext> self = weak_from_this().lock()) return self;
  return std::make_shared<RequestContext>(std::move(*this));
}

void RequestContext::Finish(Response response) {
  if (!respond_) {
    // Two answers to one request: a bug in the handler. The first one stands.
    spdlog::error("{}: a second answer ({}) to one request was dropped", EndpointName(endpoint_),
                  response.result_int());
    return;
  }
  RequestPipeline& p = *pipeline_;
  const util::Duration latency = p.clock_.Now() - start_;
  p.metrics_.Record(endpoint_, response.result_int(), util::ToSeconds(latency));
  if (RequestObserver* observer = p.metrics_.observer()) {
    observer->Finished(*this, response.result_int(), latency);
  }
  const std::unique_ptr<ErrorLog>& own = p.endpoint_logs_[static_cast<std::size_t>(endpoint_)];
  (own ? *own : p.error_log_).Record(*request_, *connection_, response);
  // Taken out first: once the server has the answer, this context's request may be gone.
  const Respond respond = std::move(respond_);
  respond(std::move(response));
}

}  // namespace vwr::http
