#include "server/request_parser.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace vwr::server {
namespace {

constexpr std::size_t kHeaderLimit = 1024;
constexpr std::size_t kBodyLimit = 4096;

constexpr std::string_view kChunkedJoin =
    "POST /api/v1/rooms/web/join HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";

// Feeds a RequestParser the way a connection does: `pieces` arrive one read at a time, and what
// the parser does not use stays buffered for the next call.
struct Feed {
  RequestParser parser{kHeaderLimit, kBodyLimit};
  std::string buffered;  // received, not yet used
  boost::beast::error_code ec;
  std::size_t largest_buffered = 0;

  // Parses each piece in turn until the request is done or refused; true when it is done.
  bool Run(const std::vector<std::string>& pieces) {
    for (const std::string& piece : pieces) {
      buffered += piece;
      largest_buffered = std::max(largest_buffered, buffered.size());
      while (!buffered.empty() && !parser.is_done()) {
        const std::size_t used =
            parser.Put(boost::asio::buffer(buffered.data(), buffered.size()), ec);
        buffered.erase(0, used);
        if (ec || used == 0) break;
      }
      if (ec && ec != http::error::need_more) return false;
      if (parser.is_done()) return true;
    }
    return false;
  }

  bool Run(std::string_view whole) { return Run(std::vector<std::string>{std::string(whole)}); }
};

std::vector<std::string> Repeat(std::string first, std::string_view piece, std::size_t times) {
  std::vector<std::string> pieces{std::move(first)};
  for (std::size_t i = 0; i < times; ++i) pieces.emplace_back(piece);
  return pieces;
}

TEST(RequestParser, ReadsAChunkedBodyAndLeavesThePipelinedRequestAfterIt) {
  Feed feed;
  ASSERT_TRUE(feed.Run(std::string(kChunkedJoin) +
                       "5;note=1\r\n{\"use\r\n10\r\nrId\":\"bob\"}     \r\n0\r\n\r\n"
                       "GET /next HTTP/1.1\r\n\r\n"))
      << feed.ec.message();
  EXPECT_EQ(feed.parser.get().body(), "{\"userId\":\"bob\"}     ");
  EXPECT_EQ(feed.buffered, "GET /next HTTP/1.1\r\n\r\n");
}

TEST(RequestParser, EndlessChunkExtensionIsRefusedOnceOverTheHeaderLimit) {
  Feed feed;
  EXPECT_FALSE(feed.Run(Repeat(std::string(kChunkedJoin) + "5;", std::string(512, 'x'), 100)));
  EXPECT_EQ(feed.ec, http::error::header_limit);
  EXPECT_LE(feed.largest_buffered, kHeaderLimit + 512);
  const ReadRefusal refusal = feed.parser.Refusal(feed.ec);
  EXPECT_EQ(refusal.error, http::ApiError::kHeadersTooLarge);
  EXPECT_EQ(refusal.message,
            "the request's header fields, chunk extensions and trailer fields are larger than "
            "1024 bytes");
}

TEST(RequestParser, EndlessChunkSizeIsRefusedOnceOverTheHeaderLimit) {
  Feed feed;  // leading zeros: a size line with no extension at all
  EXPECT_FALSE(feed.Run(Repeat(std::string(kChunkedJoin), std::string(512, '0'), 100)));
  EXPECT_EQ(feed.ec, http::error::header_limit);
  EXPECT_LE(feed.largest_buffered, kHeaderLimit + 512);
}

TEST(RequestParser, EndlessTrailerIsRefusedOnceOverTheHeaderLimit) {
  Feed lines;
  EXPECT_FALSE(lines.Run(
      Repeat(std::string(kChunkedJoin) + "2\r\n{}\r\n0\r\n", "X-Pad: yyyyyyyy\r\n", 1000)));
  EXPECT_EQ(lines.ec, http::error::header_limit);
  EXPECT_LE(lines.largest_buffered, kHeaderLimit + 17);

  Feed one_line;
  EXPECT_FALSE(
      one_line.Run(Repeat(std::string(kChunkedJoin) + "0\r\nX-Pad: ", std::string(512, 'y'), 100)));
  EXPECT_EQ(one_line.ec, http::error::header_limit);
  EXPECT_EQ(one_line.parser.Refusal(one_line.ec).error, http::ApiError::kHeadersTooLarge);
}

TEST(RequestParser, ChunkExtensionsOfAllChunksCountWithTheHead) {
  const std::string chunk = "1;e=" + std::string(100, 'e') + "\r\nx\r\n";
  // The head (about 80 bytes) and nine extensions of 103 bytes: under 1024.
  std::string body;
  for (int i = 0; i < 9; ++i) body += chunk;
  Feed under;
  EXPECT_TRUE(under.Run(std::string(kChunkedJoin) + body + "0\r\n\r\n")) << under.ec.message();
  EXPECT_EQ(under.parser.get().body(), "xxxxxxxxx");

  // Eleven: over, though each chunk-size line is short.
  Feed over;
  EXPECT_FALSE(over.Run(std::string(kChunkedJoin) + body + chunk + chunk + "0\r\n\r\n"));
  EXPECT_EQ(over.ec, http::error::header_limit);
}

TEST(RequestParser, TrailerCountsWithTheHeadAndIsNotMergedIntoTheHeaderFields) {
  Feed small;
  ASSERT_TRUE(small.Run(
      "POST /x HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 192.0.2.1\r\nTransfer-Encoding: chunked\r\n"
      "\r\n2\r\n{}\r\n0\r\nX-Forwarded-For: 203.0.113.9\r\nAuthorization: Bearer x\r\n\r\n"))
      << small.ec.message();
  const http::Request& request = small.parser.get();
  EXPECT_EQ(request.count("X-Forwarded-For"), 1u);
  EXPECT_EQ(request["X-Forwarded-For"], "192.0.2.1");
  EXPECT_EQ(request.count(http::field::authorization), 0u);
  EXPECT_EQ(request[http::field::host], "t");
  EXPECT_EQ(request.body(), "{}");

  // A trailer that fits on its own, but not with the head. Sent whole: the pending-bytes check
  // never sees it, the count at the end does.
  Feed big;
  EXPECT_FALSE(big.Run(std::string(kChunkedJoin) + "2\r\n{}\r\n0\r\nX-Pad: " +
                       std::string(kHeaderLimit - 60, 'p') + "\r\n\r\n"));
  EXPECT_EQ(big.ec, http::error::header_limit);
}

TEST(RequestParser, HeadAndBodyLimitsAreUnchanged) {
  Feed head;
  EXPECT_FALSE(head.Run("GET / HTTP/1.1\r\nX-Big: " + std::string(kHeaderLimit, 'a') + "\r\n\r\n"));
  EXPECT_EQ(head.ec, http::error::header_limit);
  EXPECT_EQ(head.parser.Refusal(head.ec).message, "the request headers are larger than 1024 bytes");

  Feed body;
  EXPECT_FALSE(body.Run("POST / HTTP/1.1\r\nContent-Length: 4097\r\n\r\n"));
  EXPECT_EQ(body.ec, http::error::body_limit);
  EXPECT_EQ(body.parser.Refusal(body.ec).error, http::ApiError::kPayloadTooLarge);
  EXPECT_EQ(body.parser.Refusal(body.ec).message, "the request body is larger than 4096 bytes");

  Feed chunks;  // chunk sizes add up over the body limit
  EXPECT_FALSE(
      chunks.Run(std::string(kChunkedJoin) + "800\r\n" + std::string(0x800, 'b') + "\r\n801\r\n"));
  EXPECT_EQ(chunks.ec, http::error::body_limit);

  Feed exact;
  EXPECT_TRUE(
      exact.Run("POST / HTTP/1.1\r\nContent-Length: 4096\r\n\r\n" + std::string(4096, 'b')));
}

// The framing a proxy in front and this server could read two ways: refused once the head is
// in, before any of the body is taken as a request.
void ExpectFramingRefused(std::string_view framing, std::string_view version = "HTTP/1.1") {
  Feed feed;
  EXPECT_FALSE(feed.Run("POST /x " + std::string(version) + "\r\nHost: t\r\n" +
                        std::string(framing) + "\r\nGET /hidden HTTP/1.1\r\n\r\n"))
      << framing;
  EXPECT_TRUE(feed.ec == http::error::bad_transfer_encoding ||
              feed.ec == http::error::bad_content_length)
      << framing << ": " << feed.ec.message();
  const ReadRefusal refusal = feed.parser.Refusal(feed.ec);
  EXPECT_EQ(refusal.error, http::ApiError::kBadRequest) << framing;
  EXPECT_TRUE(refusal.message.starts_with("malformed HTTP request: ")) << refusal.message;
}

TEST(RequestParser, TransferEncodingNotEndingInChunkedIsRefused) {
  for (const char* coding : {"xchunked", "chunked, identity", "gzip", "identity", "chunked;q=1", "",
                             "chunked chunked", "gzip, chunked", "chunked, chunked"}) {
    ExpectFramingRefused(std::string("Transfer-Encoding: ") + coding + "\r\n");
  }
  Feed feed;
  EXPECT_FALSE(feed.Run("POST /x HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n"));
  EXPECT_EQ(feed.parser.Refusal(feed.ec).message,
            "malformed HTTP request: a Transfer-Encoding other than chunked alone");
}

TEST(RequestParser, TransferEncodingWithContentLengthIsRefused) {
  ExpectFramingRefused("Transfer-Encoding: gzip\r\nContent-Length: 0\r\n");
  ExpectFramingRefused("Content-Length: 0\r\nTransfer-Encoding: gzip\r\n");
  ExpectFramingRefused("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n");
  ExpectFramingRefused("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n");
}

TEST(RequestParser, TwoTransferEncodingFieldsAreRefused) {
  ExpectFramingRefused("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n");
  ExpectFramingRefused("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n");
  ExpectFramingRefused("Transfer-Encoding: chunked\r\nX-A: b\r\nTransfer-Encoding: identity\r\n");
  Feed feed;
  EXPECT_FALSE(feed.Run(
      "POST /x HTTP/1.1\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n"));
  EXPECT_EQ(feed.parser.Refusal(feed.ec).message,
            "malformed HTTP request: more than one Transfer-Encoding field");
}

TEST(RequestParser, TransferEncodingInHttp10IsRefused) {
  ExpectFramingRefused("Transfer-Encoding: chunked\r\n", "HTTP/1.0");
}

TEST(RequestParser, ChunkedInAnyCaseAndSpacingIsRead) {
  for (const char* coding : {"chunked", "Chunked", "CHUNKED", "  chunked\t", "\tchunked "}) {
    Feed feed;
    EXPECT_TRUE(feed.Run(std::string("POST /x HTTP/1.1\r\nTransfer-Encoding:") + coding +
                         "\r\n\r\n2\r\n{}\r\n0\r\n\r\n"))
        << coding << ": " << feed.ec.message();
    EXPECT_EQ(feed.parser.get().body(), "{}") << coding;
  }
}

TEST(RequestParser, RequestsWithoutTransferEncodingAreReadAsBefore) {
  Feed get;
  EXPECT_TRUE(get.Run("GET /api/v1/rooms/web HTTP/1.1\r\nHost: t\r\n\r\n"));
  Feed post;
  EXPECT_TRUE(post.Run("POST /x HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"));
  EXPECT_EQ(post.parser.get().body(), "{}");
  Feed byte_by_byte;
  std::vector<std::string> bytes;
  for (const char c : std::string(kChunkedJoin) + "2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n") {
    bytes.emplace_back(1, c);
  }
  EXPECT_TRUE(byte_by_byte.Run(bytes)) << byte_by_byte.ec.message();
  EXPECT_EQ(byte_by_byte.parser.get().body(), "{}");
  EXPECT_EQ(byte_by_byte.parser.get().count("X-T"), 0u);
}

}  // namespace
}  // namespace vwr::server
