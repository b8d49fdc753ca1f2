#pragma once

#include <cstddef>
#include <string>

namespace vwr::http {

// The memory of answer bodies, kept for reuse by the thread that wrote them out.
//
// An answer's body is a std::string (Response's string_body), made by the handler and dropped by
// the server once the answer is serialised: one heap allocation per answer, polls included. The
// server gives a written body back here (RecycleAnswerBody), and a handler on the hot path takes
// its body from here (TakeAnswerBody), so that a worker answering poll after poll reuses the same
// few strings. Each thread keeps at most kRecycledAnswerBodies, of at most
// kLargestRecycledAnswerBody bytes each; a body made on one thread (a store's) and written on
// another (a worker) joins the writer's stock. Other handlers' bodies are recycled as well, and
// whatever takes a body from here needs nothing else: it is an ordinary, empty std::string.
//
// No lock: each thread has its own stock.
inline constexpr std::size_t kRecycledAnswerBodies = 4;
inline constexpr std::size_t kLargestRecycledAnswerBody = 16 * 1024;

// An empty string with room for at least `capacity` bytes: one the calling thread recycled when
// it has one, else a new one.
std::string TakeAnswerBody(std::size_t capacity);
// Keeps `body`'s memory for the calling thread's next TakeAnswerBody, when there is room for it
// and it is small enough; either way `body` is left empty.
void RecycleAnswerBody(std::string& body) noexcept;
// Bodies in the calling thread's stock (for tests).
std::size_t AnswerBodiesKept() noexcept;

}  // namespace vwr::http
