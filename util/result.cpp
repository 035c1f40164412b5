#include "result.hpp"

#include <stdexcept>

namespace lambdad {

void throw_exception_from_error(Error const& e, boost::source_location const&) {
  throw std::runtime_error(e.message());
}

}  // namespace lambdad
