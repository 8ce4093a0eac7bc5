#pragma once

#include <string>
#include <string_view>

namespace tiersync {

// Returns the SHA-256 of `data` as 64 lowercase hex digits. Used for file cursors and for
// idempotency keys, which must be stable across releases and machines.
std::string Sha256Hex(std::string_view data);

}  // namespace tiersync
