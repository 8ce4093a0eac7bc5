#pragma once

// The `tiersync` subcommands. Each returns the process exit status: 0 on success, 1 when
// the work failed, 2 for bad arguments or configuration.

#include <iosfwd>
#include <optional>
#include <string>

namespace tiersync {

// `reconcile` runs the nightly reconciliation: the whole school year from Synergy report
// sources, and every file read and hashed again.
int CommandSync(const std::string& config_path, const std::optional<std::string>& as_of, std::ostream& out,
                bool reconcile = false);
int CommandTiers(const std::string& config_path, const std::string& as_of, const std::string& format,
                 std::ostream& out);
int CommandExplain(const std::string& config_path, const std::string& student_id, const std::string& as_of,
                   std::ostream& out);
int CommandCheckConfig(const std::string& config_path, std::ostream& out);
int CommandDataQuality(const std::string& config_path, const std::string& format, std::ostream& out);

// Playbook commands (daemon/playbook_commands.cc).
int CommandApprove(const std::string& config_path, const std::string& key, const std::string& date,
                   std::ostream& out);
int CommandCompleteTask(const std::string& config_path, const std::string& key, const std::string& date,
                        std::ostream& out);

}  // namespace tiersync
