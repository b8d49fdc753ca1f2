#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cmath>

#include "control/http_fetch.hpp"
#include "control/probes.hpp"

namespace vwr::control {

namespace {

std::string UrlEncode(std::string_view text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

std::optional<double> JsonNumber(const boost::json::value& v) {
  if (v.is_number()) return v.to_number<double>();
  if (v.is_bool()) return v.as_bool() ? 1.0 : 0.0;
  if (v.is_string()) {  // Prometheus sends sample values as strings
    const auto& s = v.as_string();
    try {
      std::size_t used = 0;
      const double d = std::stod(std::string(s.data(), s.size()), &used);
      if (used == s.size()) return d;
    } catch (...) {
    }
  }
  return std::nullopt;
}

// measure: latency_ms | success | json
class HttpProbe final : public Probe {
 public:
  HttpProbe(Url url, HttpSignalSpec spec, HttpRequestSpec request, const util::Clock& clock)
      : url_(std::move(url)), spec_(std::move(spec)), request_(std::move(request)), clock_(clock) {}

  ProbeOutcome Run() override {
    ProbeOutcome out;
    std::string error;
    auto answer = HttpFetch(url_, request_, clock_, &error);
    using Measure = HttpSignalSpec::Measure;
    const bool ok_status =
        answer && answer->status >= spec_.ok_status_min && answer->status <= spec_.ok_status_max;
    if (spec_.measure == Measure::kSuccess) {
      out.value = ok_status ? 1.0 : 0.0;  // a failure to answer is exactly what this measures
      return out;
    }
    if (!answer) {
      out.error = error;
      return out;
    }
    if (!ok_status) {
      out.error = url_.Shown() + ": status " + std::to_string(answer->status);
      return out;
    }
    if (spec_.measure == Measure::kLatencyMs) {
      out.value = std::chrono::duration<double, std::milli>(answer->elapsed).count();
      return out;
    }
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(answer->body, ec);
    if (ec) {
      out.error = url_.Shown() + ": the answer is not JSON";
      return out;
    }
    const boost::json::value* found = doc.find_pointer(spec_.json_pointer, ec);
    auto number = found != nullptr ? JsonNumber(*found) : std::nullopt;
    if (!number || !std::isfinite(*number)) {
      out.error = url_.Shown() + ": no number at " + spec_.json_pointer;
      return out;
    }
    out.value = *number;
    return out;
  }

 private:
  Url url_;
  HttpSignalSpec spec_;
  HttpRequestSpec request_;
  const util::Clock& clock_;
};

// A scrape with a selector, or a PromQL query against a server's /api/v1/query.
class PrometheusProbe final : public Probe {
 public:
  PrometheusProbe(Url url, PrometheusSignalSpec spec, HttpRequestSpec request,
                  std::optional<PromAggregator> aggregator, const util::Clock& clock)
      : url_(std::move(url)),
        spec_(std::move(spec)),
        request_(std::move(request)),
        aggregator_(std::move(aggregator)),
        clock_(clock) {}

  ProbeOutcome Run() override {
    ProbeOutcome out;
    std::string error;
    auto answer = HttpFetch(url_, request_, clock_, &error);
    if (!answer) {
      out.error = error;
      return out;
    }
    if (answer->status != 200) {
      out.error = url_.Shown() + ": status " + std::to_string(answer->status);
      return out;
    }
    if (aggregator_) {
      const auto samples = ParsePrometheusText(answer->body);
      const double seconds = util::ToSeconds(clock_.Now().time_since_epoch());
      std::string why;
      auto value = aggregator_->Update(samples, seconds, &why);
      if (!value) {
        // A first scrape, or nothing observed, is not a failure; no matching series is.
        if (why.rfind("no series", 0) == 0)
          out.error = url_.Shown() + ": " + why;
        else
          out.no_value_yet = true;
        return out;
      }
      out.value = *value * spec_.scale;
      return out;
    }
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(answer->body, ec);
    const boost::json::value* result = ec ? nullptr : doc.find_pointer("/data/result", ec);
    const boost::json::value* type = ec ? nullptr : doc.find_pointer("/data/resultType", ec);
    std::optional<double> value;
    if (result != nullptr && type != nullptr && type->is_string()) {
      if (type->as_string() == "scalar" && result->is_array() && result->as_array().size() == 2) {
        value = JsonNumber(result->as_array()[1]);
      } else if (type->as_string() == "vector" && result->is_array()) {
        const auto& series = result->as_array();
        if (series.size() != 1) {
          out.error = "the query gave " + std::to_string(series.size()) +
                      " series: aggregate it to one (sum, max ...)";
          return out;
        }
        const boost::json::value* sample = series[0].find_pointer("/value/1", ec);
        if (sample != nullptr) value = JsonNumber(*sample);
      }
    }
    if (!value || !std::isfinite(*value)) {
      out.error = url_.Shown() + ": the query did not give one finite number";
      return out;
    }
    out.value = *value * spec_.scale;
    return out;
  }

 private:
  Url url_;
  PrometheusSignalSpec spec_;
  HttpRequestSpec request_;
  std::optional<PromAggregator> aggregator_;
  const util::Clock& clock_;
};

bool AddBearer(const Credential& bearer, HttpRequestSpec& request, std::string* error) {
  if (bearer.empty()) return true;
  std::string problem;
  auto token = LoadCredential(bearer, &problem);
  if (!token) {
    if (error != nullptr) *error = "bearer: " + problem;
    return false;
  }
  request.headers.emplace_back("Authorization", "Bearer " + *token);
  return true;
}

}  // namespace

std::unique_ptr<Probe> MakeHttpProbe(const SignalSpec& spec, const util::Clock& clock,
                                     std::string* error) {
  auto url = Url::Parse(spec.http.url, error);
  if (!url) return nullptr;
  HttpRequestSpec request;
  request.method = spec.http.method;
  request.headers = spec.http.headers;
  request.timeout = spec.timeout;
  request.verify_tls = spec.http.verify_tls;
  if (!AddBearer(spec.http.bearer, request, error)) return nullptr;
  return std::make_unique<HttpProbe>(std::move(*url), spec.http, std::move(request), clock);
}

std::unique_ptr<Probe> MakePrometheusProbe(const SignalSpec& spec, const util::Clock& clock,
                                           std::string* error) {
  const PrometheusSignalSpec& p = spec.prometheus;
  std::string text = p.url;
  std::optional<PromAggregator> aggregator;
  if (!p.query.empty()) {
    while (!text.empty() && text.back() == '/') text.pop_back();
    text += "/api/v1/query?query=" + UrlEncode(p.query);
  } else {
    auto selector = PromSelector::Parse(p.metric, error);
    if (!selector) return nullptr;
    aggregator.emplace(std::move(*selector), p.reading, p.quantile);
  }
  auto url = Url::Parse(text, error);
  if (!url) return nullptr;
  HttpRequestSpec request;
  request.timeout = spec.timeout;
  request.verify_tls = p.verify_tls;
  request.headers.emplace_back("Accept", "text/plain;version=0.0.4, application/json");
  if (!AddBearer(p.bearer, request, error)) return nullptr;
  return std::make_unique<PrometheusProbe>(std::move(*url), p, std::move(request),
                                           std::move(aggregator), clock);
}

std::unique_ptr<Probe> MakeProbe(const SignalSpec& spec, const util::Clock& clock,
                                 std::string* error) {
  switch (spec.kind) {
    case SignalKind::kHttp:
      return MakeHttpProbe(spec, clock, error);
    case SignalKind::kPrometheus:
      return MakePrometheusProbe(spec, clock, error);
    case SignalKind::kPostgres:
      return MakePostgresProbe(spec, clock, error);
    case SignalKind::kMysql:
      return MakeMysqlProbe(spec, clock, error);
    case SignalKind::kPush:
      return nullptr;
  }
  return nullptr;
}

}  // namespace vwr::control
