#pragma once

// A thin RAII layer over the SQLite C API. Failures throw SqliteError: the store turns
// them into Result errors at its boundary, where the file name is known.

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tiersync::sqlite {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

class Statement;

class Database {
 public:
  // Opens (creating when `create` is true) the database file at `path`.
  Database(const std::string& path, bool create);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void Exec(std::string_view sql);
  Statement Prepare(std::string_view sql);
  int64_t LastInsertRowId() const;
  int Changes() const;
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;

  // Binds by 1-based index. Text is copied by SQLite.
  Statement& Bind(int index, std::string_view text);
  // Binds text without copying it: it must stay alive and unchanged until the statement is
  // reset (Run resets it). For statements run once per row of a large batch.
  Statement& BindBorrowed(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& BindNull(int index);
  template <typename T>
  Statement& Bind(int index, const std::optional<T>& value) {
    return value ? Bind(index, *value) : BindNull(index);
  }

  // Steps once; returns true when a row is available.
  bool Step();
  // Steps a statement that returns no rows and resets it for reuse.
  void Run();
  void Reset();

  // The number of columns in the statement's result rows.
  int ColumnCount() const;
  std::string Text(int column) const;
  // Returns the column's text without a copy. It is valid until the next Step or Reset.
  std::string_view TextView(int column) const;
  int64_t Int(int column) const;
  bool IsNull(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Runs BEGIN IMMEDIATE on construction and ROLLBACK on destruction unless Commit() ran, so
// an exception anywhere inside leaves the database as it was.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void Commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace tiersync::sqlite
