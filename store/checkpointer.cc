#include "store/checkpointer.h"

#include <spdlog/spdlog.h>

namespace tiersync {

BackgroundCheckpointer::~BackgroundCheckpointer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundCheckpointer::Attach(sqlite::Database& db) {
  path_ = db.path();
  // Replaces SQLite's automatic checkpoint, which uses the same hook.
  sqlite3_wal_hook(db.handle(), &BackgroundCheckpointer::OnCommit, this);
}

int BackgroundCheckpointer::OnCommit(void* self, sqlite3* db, const char* schema, int pages) {
  if (pages >= kInlineAtPages) {
    // The thread fell behind, or a long reader keeps old pages in use: copy here, as SQLite would.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= kWakeAtPages) {
    static_cast<BackgroundCheckpointer*>(self)->Wake();
  }
  return SQLITE_OK;
}

void BackgroundCheckpointer::Wake() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    requested_ = true;
    if (!thread_.joinable()) thread_ = std::thread(&BackgroundCheckpointer::Run, this, path_);
  }
  changed_.notify_all();
}

void BackgroundCheckpointer::Run(std::string path) {
  std::unique_ptr<sqlite::Database> db;
  try {
    db = std::make_unique<sqlite::Database>(path, false);
    // As on the writing connection: the database file is synced after each checkpoint.
    db->Exec("PRAGMA synchronous = NORMAL");
  } catch (const sqlite::SqliteError& error) {
    spdlog::warn("background checkpoints of {} are off: {}; commits copy the log themselves from {} pages", path,
                 error.what(), kInlineAtPages);
  }
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return requested_ || stopping_; });
    if (stopping_) break;
    requested_ = false;
    running_ = true;
    lock.unlock();
    int log_pages = 0;
    int copied_pages = 0;
    int rc = db ? sqlite3_wal_checkpoint_v2(db->handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied_pages)
                : SQLITE_CANTOPEN;
    // SQLITE_BUSY: another checkpoint is running; the next commit wakes the thread again.
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && db) {
      spdlog::warn("background checkpoint of {} failed: {}; the next commit past {} pages tries again", path,
                   sqlite3_errmsg(db->handle()), kWakeAtPages);
    }
    lock.lock();
    running_ = false;
    if (rc == SQLITE_OK) ++completed_;
    changed_.notify_all();
  }
}

void BackgroundCheckpointer::WaitIdle() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !requested_ && !running_; });
}

int64_t BackgroundCheckpointer::completed() const {
  std::lock_guard lock(mutex_);
  return completed_;
}

}  // namespace tiersync
