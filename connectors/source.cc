#include "connectors/source.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <sstream>

#include "base/digest.h"

namespace tiersync {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{"cannot open " + path + ": " + std::strerror(errno) + "; check the path in the configuration"};
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  return contents.str();
}

Status Source::ReadEach(const CursorLookup& stored_cursor, const std::function<void(Snapshot&&)>& apply) {
  auto snapshots = Read(stored_cursor);
  if (!snapshots) return snapshots.error();
  for (auto& snapshot : *snapshots) apply(std::move(snapshot));
  return {};
}

std::string ContentCursor(const std::string& contents) { return "sha256:" + Sha256Hex(contents); }

namespace {

constexpr std::string_view kStampMarker = " stat:";

}  // namespace

std::optional<FileStamp> StampOf(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileStamp{static_cast<int64_t>(info.st_size),
                   static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec};
}

std::string FileCursor(const std::string& path, const std::string& contents, const std::optional<FileStamp>& stamp) {
  std::string cursor = ContentCursor(contents);
  std::optional<FileStamp> after = StampOf(path);
  if (!stamp || !after || !(*stamp == *after)) return cursor;
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (now_ns - stamp->modified_ns < int64_t{kStampSettleSeconds} * 1'000'000'000) return cursor;
  return cursor + std::string(kStampMarker) + std::to_string(stamp->size) + ":" + std::to_string(stamp->modified_ns);
}

bool UnchangedByStamp(const std::string& path, const std::optional<std::string>& stored) {
  if (!stored) return false;
  auto marker = stored->find(kStampMarker);
  if (marker == std::string::npos) return false;
  std::optional<FileStamp> stamp = StampOf(path);
  if (!stamp) return false;
  std::string expected = std::string(kStampMarker) + std::to_string(stamp->size) + ":" +
                         std::to_string(stamp->modified_ns);
  return stored->compare(marker, std::string::npos, expected) == 0;
}

std::string WithoutStamp(const std::string& cursor) { return cursor.substr(0, cursor.find(kStampMarker)); }

bool SameContents(const std::optional<std::string>& stored, const std::string& cursor) {
  return stored && WithoutStamp(*stored) == WithoutStamp(cursor);
}

namespace {

Snapshot UnchangedSnapshot(const std::string& origin, const std::string& cursor) {
  Snapshot snapshot;
  snapshot.origin = origin;
  snapshot.cursor = cursor;
  snapshot.unchanged = true;
  return snapshot;
}

// Reads one file into its snapshot: unchanged when its contents match the stored cursor,
// else parsed. Touches no store, so it can run on another thread.
Result<Snapshot> LoadFile(const std::string& source_name, const std::string& path, const std::string& origin,
                          const std::optional<std::string>& stored, const FileParser& parse) {
  std::optional<FileStamp> stamp = StampOf(path);
  auto contents = ReadFile(path);
  if (!contents) return Error{"source '" + source_name + "': " + contents.error().message};
  std::string cursor = FileCursor(path, *contents, stamp);
  if (SameContents(stored, cursor)) return UnchangedSnapshot(origin, cursor);
  auto snapshot = parse(origin, path, *contents);
  if (!snapshot) return snapshot.error();
  snapshot->cursor = cursor;
  return snapshot;
}

}  // namespace

Status ReadSourceFiles(const std::string& source_name, const std::vector<std::string>& paths,
                       const CursorLookup& stored_cursor, const FileParser& parse,
                       const std::function<void(Snapshot&&)>& apply) {
  // While one file's snapshot is applied on this thread, the next file is read, hashed and
  // parsed on another, so a backfill of many files keeps two cores busy. Cursors are looked
  // up here, on the thread that owns the store.
  auto start = [&](size_t index) {
    std::string origin = source_name + ":" + paths[index];
    std::optional<std::string> stored = stored_cursor(origin);
    // A file whose size and modification time match the stored stamp is not read at all.
    if (UnchangedByStamp(paths[index], stored)) {
      std::promise<Result<Snapshot>> ready;
      ready.set_value(UnchangedSnapshot(origin, *stored));
      return ready.get_future();
    }
    return std::async(std::launch::async, LoadFile, std::cref(source_name), std::cref(paths[index]), origin,
                      std::move(stored), std::cref(parse));
  };
  std::future<Result<Snapshot>> next;
  if (!paths.empty()) next = start(0);
  for (size_t index = 0; index < paths.size(); ++index) {
    Result<Snapshot> snapshot = next.get();
    if (!snapshot) return snapshot.error();
    if (index + 1 < paths.size()) next = start(index + 1);
    apply(std::move(*snapshot));
  }
  return {};
}

CursorLookup FreezeCursors(const std::string& source_name, const std::vector<std::string>& paths,
                           const CursorLookup& stored_cursor) {
  auto stored = std::make_shared<std::map<std::string, std::optional<std::string>>>();
  for (const auto& path : paths) {
    std::string origin = source_name + ":" + path;
    (*stored)[origin] = stored_cursor(origin);
  }
  return [stored](const std::string& origin) { return stored->at(origin); };
}

}  // namespace tiersync
