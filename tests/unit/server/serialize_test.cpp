// The bytes the server writes for an answer (server::Serialize, SerializeStreamHead).
#include <gtest/gtest.h>

#include <string>

#include "http/http.hpp"
#include "server/http_server.hpp"

namespace vwr::server {
namespace {

TEST(Serialize, WritesTheStatusLineTheFieldsInOrderAndTheBody) {
  http::Response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Custom", "a value");
  res.body() = R"({"status":"waiting"})";
  res.prepare_payload();
  std::string out = "whatever the buffer held before";
  Serialize(res, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/json\r\n"
            "Cache-Control: no-store\r\n"
            "X-Custom: a value\r\n"
            "Content-Length: 20\r\n"
            "\r\n"
            R"({"status":"waiting"})");
}

TEST(Serialize, AddsAContentLengthWhenTheHandlerSetNoneWithoutChangingTheAnswer) {
  http::Response res{http::status::not_found, 10};
  res.set(http::field::content_type, "text/plain");
  res.body() = "no such thing";
  std::string out;
  Serialize(res, out);
  EXPECT_EQ(out,
            "HTTP/1.0 404 Not Found\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 13\r\n"
            "\r\n"
            "no such thing");
  EXPECT_EQ(res.find(http::field::content_length), res.end());
}

TEST(Serialize, ANoContentAnswerHasNoLengthAndNoBody) {
  http::Response res{http::status::no_content, 11};
  res.set(http::field::access_control_max_age, "600");
  std::string out;
  Serialize(res, out);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nAccess-Control-Max-Age: 600\r\n\r\n");
}

TEST(Serialize, AStatusBeastHasNoReasonForKeepsItsCode) {
  http::Response res;
  res.result(599);
  res.version(11);
  std::string out;
  Serialize(res, out);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 599 ")) << out;
  EXPECT_TRUE(out.ends_with("\r\nContent-Length: 0\r\n\r\n")) << out;
}

TEST(SerializeStreamHead, FramesTheStreamAsChunksWithoutALength) {
  http::Response res{http::status::ok, 11};
  res.set(http::field::content_type, "text/event-stream");
  res.body() = "dropped";
  res.prepare_payload();
  std::string out;
  SerializeStreamHead(res, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/event-stream\r\n"
            "Transfer-Encoding: chunked\r\n"
            "Cache-Control: no-store\r\n"
            "X-Accel-Buffering: no\r\n"
            "\r\n");
}

}  // namespace
}  // namespace vwr::server
