#include "http/answer_body.hpp"

#include <array>
#include <utility>

namespace vwr::http {
namespace {

struct BodyStock {
  std::array<std::string, kRecycledAnswerBodies> bodies;
  std::size_t count = 0;
};

BodyStock& ThisThreadsStock() {
  thread_local BodyStock stock;
  return stock;
}

}  // namespace

std::string TakeAnswerBody(std::size_t capacity) {
  BodyStock& stock = ThisThreadsStock();
  std::string body;
  if (stock.count > 0) body.swap(stock.bodies[--stock.count]);
  body.reserve(capacity);
  return body;
}

void RecycleAnswerBody(std::string& body) noexcept {
  BodyStock& stock = ThisThreadsStock();
  // A body inside the string itself (short string) has no heap memory to keep.
  if (stock.count < stock.bodies.size() && body.capacity() > std::string().capacity() &&
      body.capacity() <= kLargestRecycledAnswerBody) {
    body.clear();
    body.swap(stock.bodies[stock.count++]);
    return;
  }
  std::string().swap(body);
}

std::size_t AnswerBodiesKept() noexcept { return ThisThreadsStock().count; }

}  // namespace vwr::http
