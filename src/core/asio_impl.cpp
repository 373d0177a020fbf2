// The single translation unit that compiles Asio (BOOST_ASIO_SEPARATE_COMPILATION),
// so the rest of the code base only parses Asio's declarations.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
