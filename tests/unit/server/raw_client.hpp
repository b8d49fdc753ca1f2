#pragma once

// A blocking HTTP/1.1 client on a plain socket for the server's tests. It allocates nothing
// itself, so that a test counting allocations counts the server's alone.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <string_view>

namespace vwr::server::testing {

class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  // Sends `request` and reads one answer (framed by Content-Length); its status, 0 when the
  // connection failed or closed first.
  unsigned RoundTrip(std::string_view request) {
    head_ = {};
    body_ = {};
    for (std::size_t sent = 0; sent < request.size();) {
      const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return 0;
      sent += static_cast<std::size_t>(n);
    }
    std::size_t have = 0;
    std::size_t head_end = std::string_view::npos;
    std::size_t length = 0;
    while (true) {
      const ssize_t n = ::recv(fd_, buffer_.data() + have, buffer_.size() - have, 0);
      if (n <= 0) return 0;
      have += static_cast<std::size_t>(n);
      const std::string_view text(buffer_.data(), have);
      if (head_end == std::string_view::npos) {
        head_end = text.find("\r\n\r\n");
        if (head_end == std::string_view::npos) continue;
        const std::size_t at = text.find("Content-Length: ");
        if (at == std::string_view::npos || at > head_end) return 0;
        std::from_chars(text.data() + at + 16, text.data() + head_end, length);
      }
      if (have >= head_end + 4 + length) {
        head_ = text.substr(0, head_end);
        body_ = text.substr(head_end + 4, length);
        unsigned status = 0;
        std::from_chars(text.data() + 9, text.data() + 12, status);
        return status;
      }
    }
  }

  // The last answer's status line and header fields, and its body; valid until the next call.
  std::string_view head() const { return head_; }
  std::string_view body() const { return body_; }

  // Whether the server closed the connection (a read finds its end).
  bool Closed() {
    char byte;
    return ::recv(fd_, &byte, 1, 0) == 0;
  }

 private:
  int fd_;
  bool connected_ = false;
  std::array<char, 16 * 1024> buffer_{};
  std::string_view head_;
  std::string_view body_;
};

}  // namespace vwr::server::testing
