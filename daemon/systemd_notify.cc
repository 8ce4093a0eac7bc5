#include "daemon/systemd_notify.h"

#include <systemd/sd-daemon.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <ctime>

namespace tiersync {

namespace {

void Send(const std::string& message) {
  int result = sd_notify(0, message.c_str());
  if (result < 0) spdlog::warn("notifying systemd failed: {}", std::strerror(-result));
}

}  // namespace

void NotifyReady(const std::string& status) { Send("READY=1\nSTATUS=" + status); }

void NotifyReloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t microseconds = static_cast<uint64_t>(now.tv_sec) * 1000000 + static_cast<uint64_t>(now.tv_nsec) / 1000;
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(microseconds) + "\nSTATUS=Reloading the configuration");
}

void NotifyStopping(const std::string& status) { Send("STOPPING=1\nSTATUS=" + status); }

void NotifyStatus(const std::string& status) { Send("STATUS=" + status); }

void NotifyWatchdog() { Send("WATCHDOG=1"); }

uint64_t WatchdogIntervalMicroseconds() {
  uint64_t interval = 0;
  if (sd_watchdog_enabled(0, &interval) <= 0) return 0;
  return interval;
}

}  // namespace tiersync
