#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace vwr::http {

// What feeds an answer that goes on after its head: a Server-Sent Events stream
// (/admin/api/v1/live; later a room's public events). The server asks it for more every
// `period` and writes what it gives as one chunk, so that a slow client never makes anything
// queue up: whatever was not fetched is simply fetched later (a source that answers "the
// latest" skips what the client was too slow for).
//
// Called on the connection's worker only, one call at a time; never while a write of the
// stream is under way.
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // Appends what to send now to `out` (nothing: nothing this time). Returns false to end the
  // stream once what it appended is written.
  virtual bool Next(std::string& out) = 0;
  // The stream has ended, for whatever reason (the client went away, the server drains or
  // stops, Next said so, a write failed or ran out of time). Exactly once.
  virtual void Ended() {}
};

// The server's side of a stream, reached through ConnectionInfo::streams while a request is
// being answered (null where the request has no connection that can stream: tests, fuzzing).
class StreamOpener {
 public:
  virtual ~StreamOpener() = default;
  // Makes the answer to the current request a stream fed by `source`: the handler then answers
  // with its head (200, Content-Type; no body), which the server sends without a length, and
  // the stream goes on until one of StreamSource::Ended's reasons. False when the listener has
  // as many streams open as it allows (answer 503): nothing is kept. Call at most once per
  // request, before answering, on the thread that answers.
  virtual bool Open(std::shared_ptr<StreamSource> source, std::chrono::milliseconds period) = 0;
};

}  // namespace vwr::http
