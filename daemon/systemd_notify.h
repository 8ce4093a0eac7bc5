#pragma once

// Notifications to systemd for Type=notify services. Each is a no-op when NOTIFY_SOCKET is
// not set, so the service runs the same way without systemd.

#include <cstdint>
#include <string>

namespace tiersync {

void NotifyReady(const std::string& status);
void NotifyReloading();  // RELOADING=1 with MONOTONIC_USEC, as systemd 253 and later expect
void NotifyStopping(const std::string& status);
void NotifyStatus(const std::string& status);
void NotifyWatchdog();

// The watchdog interval that systemd sets in WATCHDOG_USEC, or 0 when the watchdog is off.
uint64_t WatchdogIntervalMicroseconds();

}  // namespace tiersync
