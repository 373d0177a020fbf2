// Reading Accept-Encoding (RFC 9110 section 12.5.3): how much a client wants a content coding.
#pragma once

#include <string_view>

namespace portico::http {

// The client's q-value (0 to 1) for `coding` ("gzip", "br", "zstd", "identity") in an
// Accept-Encoding value: the coding's own entry, else the "*" entry, else 0 ("identity":
// else 1, it is always acceptable unless refused). "x-gzip" counts as "gzip".
// Malformed q-values count as 0 (not acceptable).
double encoding_q(std::string_view accept_encoding, std::string_view coding);

}  // namespace portico::http
