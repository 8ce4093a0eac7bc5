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
};

// Reads a whole file; the error names the path and the reason.
Result<std::string> ReadFile(const std::string& path);

// The cursor of file contents: their SHA-256.
std::string ContentCursor(const std::string& contents);

}  // namespace tiersync
