#pragma once

// Sinks deliver outbox entries to where the attendance team works (Synergy ImportData,
// files Synergy imports). Delivery is at-least-once; every entry carries its idempotency
// key so the receiving side can recognise a repeat.

#include <string>
#include <vector>

#include "base/result.h"
#include "store/store.h"

namespace tiersync {

struct DeliveryReceipt {
  std::string remote_id;  // what the far side calls this batch (a file name, an import id)
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual const std::string& name() const = 0;
  // Delivers the whole batch or fails as a whole; an error leaves the entries pending.
  virtual Result<DeliveryReceipt> Deliver(const std::vector<OutboxEntry>& batch) = 0;
};

}  // namespace tiersync
