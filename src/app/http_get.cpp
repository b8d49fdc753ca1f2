#include "app/http_get.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace vwr::app {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Runs one exchange on `stream` (plain or TLS, connected): request, then the answer with a body
// limit, all asynchronously so that the stream's deadline applies; `ioc` is run by the caller.
template <class Stream>
void Exchange(Stream& stream, const HttpUrl& url, std::string_view bearer_token,
              std::size_t max_body, http::response_parser<http::string_body>& parser,
              beast::flat_buffer& buffer, beast::error_code& result) {
  auto request = std::make_shared<http::request<http::empty_body>>(http::verb::get, url.target, 11);
  request->set(http::field::host, url.host);
  request->set(http::field::user_agent, "vwr");
  request->set(http::field::accept, "application/json");
  if (!bearer_token.empty()) {
    request->set(http::field::authorization, "Bearer " + std::string(bearer_token));
  }
  parser.body_limit(max_body);
  http::async_write(stream, *request, [&, request](beast::error_code ec, std::size_t) {
    if (ec) {
      result = ec;
      return;
    }
    http::async_read(stream, buffer, parser,
                     [&](beast::error_code read_ec, std::size_t) { result = read_ec; });
  });
}

}  // namespace

boost::system::result<HttpUrl, std::string> ParseHttpUrl(std::string_view url) {
  HttpUrl out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::string("not an http:// or https:// URL");
  }
  const std::size_t path_start = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, path_start);
  std::string_view rest = path_start == std::string_view::npos ? "" : url.substr(path_start);
  if (rest.find('#') != std::string_view::npos) return std::string("has a fragment");
  if (authority.find('@') != std::string_view::npos) return std::string("holds user info");
  if (authority.empty()) return std::string("has no host");
  std::string_view port;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::string("has an unclosed IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::string("has junk after the IPv6 address");
      port = after.substr(1);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    port = authority.substr(colon + 1);
  } else {
    out.host = std::string(authority);
  }
  if (out.host.empty()) return std::string("has no host");
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(port)) > 65535) {
      return std::string("has a port that is not 0..65535");
    }
    out.port = std::string(port);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  if (!rest.empty()) out.target = rest.front() == '?' ? "/" + std::string(rest) : std::string(rest);
  return out;
}

boost::system::result<HttpGetResult, std::string> HttpGet(std::string_view text,
                                                          std::chrono::milliseconds timeout,
                                                          std::size_t max_body_bytes,
                                                          std::string_view bearer_token) {
  auto url = ParseHttpUrl(text);
  if (!url) return url.error();
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  const auto endpoints = resolver.resolve(url->host, url->port, ec);
  if (ec) return "cannot resolve " + url->host + ": " + ec.message();

  http::response_parser<http::string_body> parser;
  beast::flat_buffer buffer;
  beast::error_code result = asio::error::would_block;
  auto finish = [&]() -> boost::system::result<HttpGetResult, std::string> {
    ioc.run();
    if (result == beast::error::timeout) {
      return "no answer within " + std::to_string(timeout.count()) + " ms";
    }
    if (result == http::error::body_limit) {
      return "the answer is larger than " + std::to_string(max_body_bytes) + " bytes";
    }
    if (result) return result.message();
    return HttpGetResult{parser.get().result_int(), std::move(parser.get().body())};
  };

  if (!url->tls) {
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.async_connect(endpoints, [&](beast::error_code connect_ec, const tcp::endpoint&) {
      if (connect_ec) {
        result = connect_ec;
        return;
      }
      Exchange(stream, *url, bearer_token, max_body_bytes, parser, buffer, result);
    });
    return finish();
  }

  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_default_verify_paths(ec);
  tls.set_verify_mode(asio::ssl::verify_peer);
  tls.set_verify_callback(asio::ssl::host_name_verification(url->host));
  beast::ssl_stream<beast::tcp_stream> stream(ioc, tls);
  if (SSL_set_tlsext_host_name(stream.native_handle(), url->host.c_str()) != 1) {
    return std::string("cannot set the TLS server name");
  }
  beast::get_lowest_layer(stream).expires_after(timeout);
  beast::get_lowest_layer(stream).async_connect(
      endpoints, [&](beast::error_code connect_ec, const tcp::endpoint&) {
        if (connect_ec) {
          result = connect_ec;
          return;
        }
        stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code hs_ec) {
          if (hs_ec) {
            result = hs_ec;
            return;
          }
          Exchange(stream, *url, bearer_token, max_body_bytes, parser, buffer, result);
        });
      });
  return finish();
}

}  // namespace vwr::app
