#pragma once

#include <string>

#include "http/http.hpp"

namespace vwr::server {

// Status line, header fields and body into `out` (reusing its capacity), as the server writes an
// answer: in one contiguous buffer. Writes a Content-Length field when the handler set none
// (the answer itself is left as it is). Every answer has its length known up front, so there is
// never a chunked body to frame.
void Serialize(const http::Response& res, std::string& out);
// The same for the head of a stream: no Content-Length; HTTP/1.1 is framed as chunked.
void SerializeStreamHead(http::Response& res, std::string& out);

}  // namespace vwr::server
