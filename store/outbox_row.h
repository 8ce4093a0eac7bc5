#pragma once

// Reading outbox rows, shared by the store's outbox files.

#include <string>

#include "store/store.h"

namespace tiersync {

// "SELECT <every outbox column> FROM outbox <where_clause>", in the order ReadOutboxRow reads.
std::string OutboxSelect(const std::string& where_clause);
OutboxEntry ReadOutboxRow(const sqlite::Statement& row);

}  // namespace tiersync
