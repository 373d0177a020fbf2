// A request head arriving in pieces (a slow client, or a slowloris): what is kept of it while
// the connection waits for the rest, and when the bytes so far are worth parsing.
//
// A plain connection whose head stalls is parked with the bytes so far (ParkedConnection::
// partial) rather than held in a DownstreamConnection with a pooled 16 KiB buffer and a
// coroutine frame: each further byte then costs a read and a scan of the new bytes, and the
// connection a few hundred bytes (docs/architecture.md "Memory").
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "http/h1_parser.hpp"

namespace portico::proxy {

struct PartialHead {
  std::string bytes;
  std::chrono::steady_clock::time_point started;  // its first byte: the client header timeout counts from it
};

// A head longer than this is read on in a DownstreamConnection's pooled buffer (nginx reads a
// head into 1 KiB first, then into larger buffers).
inline constexpr std::size_t kMaxPartialHead = 2048;

// Whether `data` (a head's bytes so far; those before `scanned` were looked at by an earlier
// call) is worth parsing now, i.e. the parser would answer rather than ask for more: it holds
// the head's end, a bare LF or CR (refused at once), or more than a request line's limit.
// Only the new bytes are scanned: a client dribbling bytes costs linear work, not quadratic.
bool head_worth_parsing(std::string_view data, std::size_t scanned, const http::ParserLimits& limits);

}  // namespace portico::proxy
