#include "connectors/source.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/digest.h"

namespace tiersync {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{"cannot open " + path + ": " + std::strerror(errno) + "; check the path in the configuration"};
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  return contents.str();
}

std::string ContentCursor(const std::string& contents) { return "sha256:" + Sha256Hex(contents); }

}  // namespace tiersync
