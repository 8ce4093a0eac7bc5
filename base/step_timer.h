#pragma once

// Times the steps of a run one after another, for the debug lines that end a cycle or an
// engine run.

#include <chrono>

namespace tiersync {

class StepTimer {
 public:
  // Returns the milliseconds since the last call, or since construction for the first.
  double Next() {
    auto now = std::chrono::steady_clock::now();
    double ms = std::chrono::duration<double, std::milli>(now - start_).count();
    start_ = now;
    return ms;
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace tiersync
