#include "daemon/operator_commands.h"

#include <spdlog/spdlog.h>

#include <ostream>
#include <set>

#include "config/config.h"
#include "daemon/status_json.h"
#include "store/store.h"

namespace tiersync {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// Opens the store of the configuration at `config_path`, or logs why it cannot.
std::unique_ptr<Store> OpenStore(const std::string& config_path, Store::Mode mode, int& exit_status) {
  auto config = LoadConfig(config_path);
  if (!config) {
    spdlog::error("invalid configuration: {}", config.error().message);
    exit_status = kExitUsage;
    return nullptr;
  }
  auto store = Store::Open(config->store_path, mode);
  if (!store) {
    spdlog::error("{}", store.error().message);
    exit_status = kExitFailed;
    return nullptr;
  }
  return std::move(*store);
}

std::string Get(const std::map<std::string, int64_t>& counts, const char* status) {
  auto found = counts.find(status);
  return std::to_string(found == counts.end() ? 0 : found->second);
}

int ChangeDeadLetters(const std::string& config_path, const std::vector<int64_t>& ids, bool all_dead, bool retry,
                      std::ostream& out) {
  const char* verb = retry ? "retry" : "discard";
  if (ids.empty() != all_dead) {
    spdlog::error("outbox {}: give entry ids or --all-dead, not both and not neither", verb);
    return kExitUsage;
  }
  int exit_status = kExitOk;
  auto store = OpenStore(config_path, Store::Mode::kReadWrite, exit_status);
  if (!store) return exit_status;
  try {
    std::vector<int64_t> changed = retry ? store->RetryDeadLetters(ids) : store->DiscardDeadLetters(ids);
    std::set<int64_t> done(changed.begin(), changed.end());
    for (int64_t id : changed) {
      out << (retry ? "retrying" : "discarded") << " outbox entry " << id << "\n";
    }
    int status = kExitOk;
    for (int64_t id : ids) {
      if (done.count(id)) continue;
      spdlog::error("outbox entry {} is not a dead letter (missing or in another state); left unchanged", id);
      status = kExitFailed;
    }
    out << changed.size() << (retry ? " dead letters made pending; the service delivers them in its next cycle\n"
                                    : " dead letters discarded; they stay in the store and are never delivered\n");
    return status;
  } catch (const sqlite::SqliteError& error) {
    spdlog::error("outbox {} failed: {}; nothing was changed", verb, error.what());
    return kExitFailed;
  }
}

}  // namespace

int CommandStatus(const std::string& config_path, const std::string& format, std::ostream& out) {
  int exit_status = kExitOk;
  auto store = OpenStore(config_path, Store::Mode::kReadOnly, exit_status);
  if (!store) return exit_status;
  try {
    std::optional<LastCycle> last;
    if (auto text = store->Meta(kLastCycleMetaKey)) last = ParseLastCycleJson(*text);
    auto outbox = store->OutboxCounts();

    if (format == "json") {
      ServiceStatus status;
      status.config_path = config_path;
      status.state = "from the store";
      if (last) status.last_cycle = *last;
      status.outbox = outbox;
      out << ServiceStatusJson(status);
      return kExitOk;
    }

    if (!last) {
      out << "last cycle: none recorded by the service\n";
    } else {
      out << "last cycle: " << last->number << " (" << CycleKindName(last->kind) << ") "
          << CycleOutcomeName(last->outcome) << ", started " << last->started_at << ", as of " << last->as_of
          << ", " << last->duration_seconds << " s\n";
      if (!last->error.empty()) out << "  error: " << last->error << "\n";
      if (!last->abandoned_before.empty()) out << "  abandoned before: " << last->abandoned_before << "\n";
      out << "  records read: " << last->records_read << ", changed: " << last->records_changed
          << ", tier changes: " << last->tier_changes << ", actions queued: " << last->actions_queued
          << ", delivered: " << last->delivered << "\n";
      out << "  students per tier:";
      for (const auto& [tier, count] : last->students_per_tier) out << " Tier " << tier << ": " << count << ";";
      out << "\n";
    }
    out << "outbox: pending " << Get(outbox, "pending") << ", delivered " << Get(outbox, "delivered")
        << ", dead letters " << Get(outbox, "dead") << ", discarded " << Get(outbox, "discarded") << "\n";
    return kExitOk;
  } catch (const sqlite::SqliteError& error) {
    spdlog::error("reading the store failed: {}", error.what());
    return kExitFailed;
  }
}

int CommandOutboxList(const std::string& config_path, const std::string& status, size_t limit, std::ostream& out) {
  int exit_status = kExitOk;
  auto store = OpenStore(config_path, Store::Mode::kReadOnly, exit_status);
  if (!store) return exit_status;
  try {
    auto entries = store->ListOutbox(status == "all" ? "" : status, limit);
    out << "id,status,attempts,kind,action_id,student_id,school_id,to_tier,due_date,idempotency_key,last_error\n";
    for (const auto& entry : entries) {
      std::string error = entry.last_error;
      for (char& c : error) {
        if (c == ',' || c == '\n') c = ' ';
      }
      out << entry.id << "," << entry.status << "," << entry.attempts << "," << ActionKindName(entry.action.kind)
          << "," << entry.action.action_id << "," << entry.action.student_id << "," << entry.action.school_id << ","
          << entry.action.to_tier << "," << entry.action.due_date.ToString() << "," << entry.action.idempotency_key
          << "," << error << "\n";
    }
    return kExitOk;
  } catch (const sqlite::SqliteError& error) {
    spdlog::error("reading the outbox failed: {}", error.what());
    return kExitFailed;
  }
}

int CommandOutboxRetry(const std::string& config_path, const std::vector<int64_t>& ids, bool all_dead,
                       std::ostream& out) {
  return ChangeDeadLetters(config_path, ids, all_dead, true, out);
}

int CommandOutboxDiscard(const std::string& config_path, const std::vector<int64_t>& ids, bool all_dead,
                         std::ostream& out) {
  return ChangeDeadLetters(config_path, ids, all_dead, false, out);
}

}  // namespace tiersync
