#pragma once

// Attendance batches pushed by a district's own ETL to POST /v1/attendance.
//
// A batch is CSV (text/csv, a header row with the field names below) or JSON
// (application/json, {"records": [...]} or a bare array of objects). Fields:
//   student_id, date, code        required; date as the configured date_format
//   school_id, period, reason     optional text
//   duration                      optional share of the day from 0 to 1
// Every record is validated on its own. Valid records are stored as attendance events and
// invalid ones as rejected records with the reason (`tiersync data-quality` lists them), in
// the same transaction, so nothing is lost. A batch is one origin named "push:<batch id>": pushing the same batch id again
// replaces what that batch stored, and an unchanged batch changes nothing.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "connectors/csv/csv_source.h"
#include "rules/attendance_rules.h"
#include "rules/records.h"
#include "store/store.h"

namespace tiersync {

struct PushRecordResult {
  size_t record = 0;      // 1-based position in the batch
  std::string location;   // "line 3" for CSV, "records[2]" for JSON
  bool stored = false;
  std::string reason;     // why the record was rejected
};

struct PushBatch {
  std::string batch_id;
  Snapshot snapshot;
  std::vector<PushRecordResult> results;
  size_t stored = 0;
  size_t rejected = 0;
};

// Returns the batch id from the X-Batch-Id header value, or a digest of the body when the
// header is empty. An error names an unusable header value.
Result<std::string> ResolveBatchId(std::string_view header_value, std::string_view body);

// Parses and validates a batch. Returns an error only when the body cannot be read as a
// batch at all: an unsupported content type, malformed JSON or a CSV header without a
// required field. The caller stores nothing then.
Result<PushBatch> ParsePushBatch(std::string_view content_type, std::string_view body, const std::string& batch_id,
                                 const AttendanceRules& rules, DateFormat date_format);

// The JSON response body for a stored batch.
std::string PushResponseJson(const PushBatch& batch, const ApplyStats& stats);

}  // namespace tiersync
