#include "control/http_fetch.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <chrono>
#include <functional>

namespace vwr::control {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::optional<Url> Url::Parse(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<Url> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  Url url;
  std::string_view rest;
  if (text.substr(0, 7) == "http://") {
    rest = text.substr(7);
    url.port = "80";
  } else if (text.substr(0, 8) == "https://") {
    rest = text.substr(8);
    url.tls = true;
    url.port = "443";
  } else {
    return fail("a URL starts with http:// or https://");
  }
  const std::size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!url.target.empty() && url.target[0] == '?') url.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    return fail("no user or password in the URL: give a credential file or variable");
  }
  if (!authority.empty() && authority[0] == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("an IPv6 address is written [::1]");
    url.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty()) {
      if (authority[0] != ':') return fail("unexpected text after the address");
      url.port = std::string(authority.substr(1));
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) url.port = std::string(authority.substr(colon + 1));
  }
  if (url.host.empty()) return fail("the URL has no host");
  if (url.port.empty() || url.port.size() > 5 ||
      !std::all_of(url.port.begin(), url.port.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
      std::stoi(url.port) < 1 || std::stoi(url.port) > 65535) {
    return fail("the port must be a number from 1 to 65535");
  }
  for (char c : url.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return fail("the URL has a space or a control character");
    }
  }
  return url;
}

std::string Url::Shown() const {
  const std::string path = target.substr(0, target.find('?'));
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + port +
         path;
}

namespace {

// One exchange as a chain of completion handlers on a private io_context (plain callbacks:
// clang 14 cannot emit debug information for coroutines built with the sanitizers).
template <typename Stream>
class Exchange {
 public:
  Exchange(Stream& stream, const Url& url, const HttpRequestSpec& spec, HttpAnswer& answer,
           beast::error_code& ec)
      : stream_(stream), answer_(answer), ec_(ec) {
    request_ = {http::string_to_verb(spec.method), url.target, 11};
    if (request_.method() == http::verb::unknown) request_.method_string(spec.method);
    request_.set(http::field::host, url.host);
    request_.set(http::field::user_agent, "vwr-probe");
    request_.set(http::field::connection, "close");
    for (const auto& [name, value] : spec.headers) request_.set(name, value);
    if (!spec.body.empty()) {
      request_.body() = spec.body;
      request_.prepare_payload();
    }
    parser_.body_limit(spec.body_limit);
  }

  void Start(std::function<void()> done) {
    done_ = std::move(done);
    http::async_write(stream_, request_, [this](beast::error_code ec, std::size_t) {
      if (ec) return Finish(ec);
      http::async_read(stream_, buffer_, parser_, [this](beast::error_code read_ec, std::size_t) {
        if (read_ec) return Finish(read_ec);
        answer_.status = parser_.get().result_int();
        answer_.body = std::move(parser_.get().body());
        Finish({});
      });
    });
  }

 private:
  void Finish(beast::error_code ec) {
    ec_ = ec;
    done_();
  }

  Stream& stream_;
  HttpAnswer& answer_;
  beast::error_code& ec_;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  std::function<void()> done_;
};

}  // namespace

std::optional<HttpAnswer> HttpFetch(const Url& url, const HttpRequestSpec& spec,
                                    const util::Clock& clock, std::string* error) {
  asio::io_context ioc;
  asio::ip::tcp::resolver resolver(ioc);
  beast::tcp_stream tcp(ioc);
  std::optional<asio::ssl::context> tls_context;
  std::optional<beast::ssl_stream<beast::tcp_stream&>> tls;
  asio::steady_timer deadline(ioc);
  const util::TimePoint start = clock.Now();
  HttpAnswer answer;
  beast::error_code ec;
  std::string stage = "resolve";
  bool timed_out = false;

  if (url.tls) {
    tls_context.emplace(asio::ssl::context::tls_client);
    tls_context->set_default_verify_paths();
    tls_context->set_verify_mode(spec.verify_tls ? asio::ssl::verify_peer : asio::ssl::verify_none);
    if (spec.verify_tls)
      tls_context->set_verify_callback(asio::ssl::host_name_verification(url.host));
    tls.emplace(tcp, *tls_context);
    SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str());
  }

  deadline.expires_after(spec.timeout);
  deadline.async_wait([&](beast::error_code wait_ec) {
    if (wait_ec) return;
    timed_out = true;
    resolver.cancel();
    beast::error_code ignored;
    tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    tcp.socket().close(ignored);
  });

  std::optional<Exchange<beast::tcp_stream>> plain_exchange;
  std::optional<Exchange<beast::ssl_stream<beast::tcp_stream&>>> tls_exchange;
  auto done = [&] { deadline.cancel(); };
  auto exchange = [&] {
    stage = "exchange";
    if (tls) {
      tls_exchange.emplace(*tls, url, spec, answer, ec);
      tls_exchange->Start(done);
    } else {
      plain_exchange.emplace(tcp, url, spec, answer, ec);
      plain_exchange->Start(done);
    }
  };
  resolver.async_resolve(
      url.host, url.port,
      [&](beast::error_code resolve_ec, asio::ip::tcp::resolver::results_type endpoints) {
        if (resolve_ec) {
          ec = resolve_ec;
          return done();
        }
        stage = "connect";
        tcp.async_connect(
            endpoints, [&](beast::error_code connect_ec, const asio::ip::tcp::endpoint&) {
              if (connect_ec) {
                ec = connect_ec;
                return done();
              }
              if (!tls) return exchange();
              stage = "TLS handshake";
              tls->async_handshake(asio::ssl::stream_base::client, [&](beast::error_code tls_ec) {
                if (tls_ec) {
                  ec = tls_ec;
                  return done();
                }
                exchange();
              });
            });
      });
  ioc.run();
  answer.elapsed = clock.Now() - start;
  if (timed_out && (ec || answer.status == 0)) {
    if (error != nullptr) {
      *error = url.Shown() + ": no answer within " +
               std::to_string(
                   std::chrono::duration_cast<std::chrono::milliseconds>(spec.timeout).count()) +
               " ms (" + stage + ")";
    }
    return std::nullopt;
  }
  if (ec) {
    if (error != nullptr) *error = url.Shown() + ": " + stage + ": " + ec.message();
    return std::nullopt;
  }
  return answer;
}

}  // namespace vwr::control
