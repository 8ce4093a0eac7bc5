// Staff-facing playbook commands: approve a notice, record a finished task.

#include <spdlog/spdlog.h>

#include <ostream>

#include "config/config.h"
#include "daemon/commands.h"
#include "store/store.h"

namespace tiersync {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

std::unique_ptr<Store> OpenStore(const std::string& config_path) {
  auto config = LoadConfig(config_path);
  if (!config) {
    spdlog::error("invalid configuration: {}", config.error().message);
    return nullptr;
  }
  auto store = Store::Open(config->store_path);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return nullptr;
  }
  return std::move(*store);
}

}  // namespace

int CommandApprove(const std::string& config_path, const std::string& key, const std::string& date_text,
                   std::ostream& out) {
  auto date = Date::Parse(date_text);
  if (!date) {
    spdlog::error("--on '{}' is not a date; give it as YYYY-MM-DD", date_text);
    return kExitUsage;
  }
  auto store = OpenStore(config_path);
  if (!store) return kExitUsage;
  if (auto status = store->ApproveNotice(key, *date); !status) {
    spdlog::error("{}", status.error().message);
    return kExitFailed;
  }
  out << "notice " << key << " approved; the next sync delivers it after checking it again\n";
  return kExitOk;
}

int CommandCompleteTask(const std::string& config_path, const std::string& key, const std::string& date_text,
                        std::ostream& out) {
  auto date = Date::Parse(date_text);
  if (!date) {
    spdlog::error("--on '{}' is not a date; give it as YYYY-MM-DD", date_text);
    return kExitUsage;
  }
  auto store = OpenStore(config_path);
  if (!store) return kExitUsage;
  if (auto status = store->CompleteTask(key, *date); !status) {
    spdlog::error("{}", status.error().message);
    return kExitFailed;
  }
  out << "task " << key << " recorded as done on " << date->ToString() << "; it no longer escalates\n";
  return kExitOk;
}

}  // namespace tiersync
