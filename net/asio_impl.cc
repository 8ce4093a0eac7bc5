// The one translation unit that compiles Boost.Asio, Asio SSL and Boost.Beast, so that the
// rest of the project includes their headers without instantiating them again
// (BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION are set for every
// target that links tiersync_asio).

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
