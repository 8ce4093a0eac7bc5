#pragma once

// Operator commands that read and change the store while the service runs. They open their
// own connection; SQLite's WAL mode and busy timeout let them work next to the service.
// Each returns the exit status: 0 on success, 1 when the work failed, 2 for bad arguments.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace tiersync {

// Prints the last cycle the service recorded, the outbox by status and the students per
// tier at the last cycle's as-of date.
int CommandStatus(const std::string& config_path, const std::string& format, std::ostream& out);

// Lists outbox entries with `status` ("dead", "pending", "delivered", "discarded" or "all").
int CommandOutboxList(const std::string& config_path, const std::string& status, size_t limit, std::ostream& out);

// Makes dead letters pending again (retry) or marks them discarded. With `ids` empty and
// `all_dead` set, acts on every dead letter.
int CommandOutboxRetry(const std::string& config_path, const std::vector<int64_t>& ids, bool all_dead,
                       std::ostream& out);
int CommandOutboxDiscard(const std::string& config_path, const std::vector<int64_t>& ids, bool all_dead,
                         std::ostream& out);

}  // namespace tiersync
