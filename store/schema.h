#pragma once

#include <string_view>
#include <vector>

namespace tiersync {

// Schema migrations in order. Migration i (0-based) moves PRAGMA user_version from i to
// i + 1. Released migrations are never edited; a change to the schema is a new entry.
const std::vector<std::string_view>& SchemaMigrations();

}  // namespace tiersync
