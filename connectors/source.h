#pragma once

// Sources turn district data into normalized snapshots, one per origin (a file, a report).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "rules/records.h"

namespace tiersync {

// Returns the cursor the store holds for an origin, or nullopt for a new origin.
using CursorLookup = std::function<std::optional<std::string>(const std::string& origin)>;

class Source {
 public:
  virtual ~Source() = default;

  virtual const std::string& name() const = 0;

  // Reads every origin of this source. An origin whose cursor equals the stored one comes
  // back as an unchanged snapshot without records. An error means nothing could be read
  // (a missing file, a header without a mapped column); single bad records are returned
  // inside the snapshot as rejected records instead.
  virtual Result<std::vector<Snapshot>> Read(const CursorLookup& stored_cursor) = 0;

  // Reads like Read but hands each snapshot to `apply` as soon as it is read, so that at
  // most two origins' records are in memory at a time (file sources read the next file
  // while `apply` runs). Before applying anything it checks that
  // every changed origin can be opened (and, for CSV, that its header has the mapped
  // columns), so those errors still leave the whole source unapplied. This default reads
  // everything first.
  virtual Status ReadEach(const CursorLookup& stored_cursor, const std::function<void(Snapshot&&)>& apply);
};

// Parses one file's contents into the snapshot of `origin`; the error is complete, naming
// the source and the file.
using FileParser =
    std::function<Result<Snapshot>(const std::string& origin, const std::string& path, const std::string& contents)>;

// Reads the files of a file-based source in order and hands each snapshot to `apply`, on
// the calling thread. The origin of a file is "<source_name>:<path>". A file whose stamp or
// contents match its stored cursor comes back as an unchanged snapshot without being
// parsed. The next file is read and parsed on a second thread while `apply` runs, so
// `parse` must not touch the store. `stored_cursor` runs on the calling thread, for each
// file before the snapshot of the file before it is applied.
Status ReadSourceFiles(const std::string& source_name, const std::vector<std::string>& paths,
                       const CursorLookup& stored_cursor, const FileParser& parse,
                       const std::function<void(Snapshot&&)>& apply);

// Looks up every file's stored cursor once, so that checks made before applying and the
// reads after them see the same cursors.
CursorLookup FreezeCursors(const std::string& source_name, const std::vector<std::string>& paths,
                           const CursorLookup& stored_cursor);

// Reads a whole file; the error names the path and the reason.
Result<std::string> ReadFile(const std::string& path);

// The cursor of file contents: "sha256:<hex>".
std::string ContentCursor(const std::string& contents);

// The size and modification time of a file, in bytes and nanoseconds since the epoch.
struct FileStamp {
  int64_t size = -1;
  int64_t modified_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
std::optional<FileStamp> StampOf(const std::string& path);

// The cursor of a file read with `stamp` taken before reading: the content cursor, followed
// by " stat:<size>:<mtime_ns>" when the file was unchanged through the read and last
// modified at least kStampSettleSeconds before it. A younger file may still be written to
// within the file system's timestamp granularity, so its stamp is not recorded.
std::string FileCursor(const std::string& path, const std::string& contents, const std::optional<FileStamp>& stamp);
inline constexpr int kStampSettleSeconds = 2;

// Returns true when `stored` carries a stamp equal to the file's current one, so the file
// can be taken as unchanged without reading it.
// NOTE: a rewrite that keeps both the size and the modification time (cp -p, rsync -t of an
// edited copy) is missed until a reconciliation, which ignores stamps.
bool UnchangedByStamp(const std::string& path, const std::optional<std::string>& stored);

// Returns true when two file cursors name the same contents, whatever their stamps.
bool SameContents(const std::optional<std::string>& stored, const std::string& cursor);

// Returns the cursor without its stamp, so that a lookup through it makes every file be
// read and hashed again (the nightly reconciliation).
std::string WithoutStamp(const std::string& cursor);

}  // namespace tiersync
