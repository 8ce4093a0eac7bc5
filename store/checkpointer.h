#pragma once

// Moves committed pages from SQLite's write-ahead log into the database file on a thread
// of its own. By default SQLite does this inside the commit that takes the log past 1,000
// pages, so the writer waits. Here the writer goes on while the other core copies.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite.h"

namespace tiersync {

class BackgroundCheckpointer {
 public:
  // Log pages after which a commit wakes the thread (SQLite's own default threshold).
  static constexpr int kWakeAtPages = 1000;
  // Log pages after which the committing connection copies them itself, in case the
  // thread cannot keep up: 400 MiB of 16 KiB pages.
  static constexpr int kInlineAtPages = 25600;

  BackgroundCheckpointer() = default;
  // Stops the thread after the copy it is running, if any.
  ~BackgroundCheckpointer();
  BackgroundCheckpointer(const BackgroundCheckpointer&) = delete;
  BackgroundCheckpointer& operator=(const BackgroundCheckpointer&) = delete;

  // Takes over checkpoints of `db`, which must outlive this object. The thread opens a
  // connection of its own to the same file when first woken.
  void Attach(sqlite::Database& db);
  // Waits until no copy is requested or running. For tests.
  void WaitIdle();
  // Checkpoints the thread completed.
  int64_t completed() const;

 private:
  static int OnCommit(void* self, sqlite3* db, const char* schema, int pages);
  void Wake();
  void Run(std::string path);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool requested_ = false;
  bool running_ = false;
  bool stopping_ = false;
  int64_t completed_ = 0;
  std::string path_;
  std::thread thread_;
};

}  // namespace tiersync
