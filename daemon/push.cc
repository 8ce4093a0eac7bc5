#include "daemon/push.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <map>
#include <set>

#include "base/digest.h"
#include "base/units.h"
#include "connectors/csv/csv_reader.h"

namespace tiersync {

namespace json = boost::json;

namespace {

const std::vector<std::string>& KnownFields() {
  static const std::vector<std::string> kFields = {"student_id", "date",   "code",    "school_id",
                                                   "period",     "reason", "duration"};
  return kFields;
}

std::string KnownFieldList() {
  std::string list;
  for (const auto& field : KnownFields()) list += (list.empty() ? "" : ", ") + field;
  return list;
}

std::string Trim(std::string_view value) {
  size_t start = 0;
  size_t end = value.size();
  while (start < end && (value[start] == ' ' || value[start] == '\t')) ++start;
  while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t')) --end;
  return std::string(value.substr(start, end - start));
}

// One record's fields as text, before validation.
using Fields = std::map<std::string, std::string>;

// Validates one record. Returns the reason it is rejected, or an empty string.
std::string ValidateRecord(const Fields& fields, const AttendanceRules& rules, DateFormat date_format,
                           AttendanceEvent& event) {
  auto get = [&](const char* name) {
    auto found = fields.find(name);
    return found == fields.end() ? std::string() : found->second;
  };
  event.student_id = get("student_id");
  if (event.student_id.empty()) return "student_id is missing or empty";

  std::string date_text = get("date");
  auto date = ParseDate(date_text, date_format);
  if (!date) {
    return "date '" + date_text + "' is not a valid date (expected " +
           (date_format == DateFormat::kIso ? "YYYY-MM-DD" : "MM/DD/YYYY") + ")";
  }
  event.date = *date;

  event.category = get("code");
  if (event.category.empty()) return "code is missing or empty";
  if (rules.FindCode(event.category) == nullptr) {
    return "code '" + event.category + "' is not in rules.attendance_codes; add it to the configuration or fix the ETL";
  }

  event.school_id = get("school_id");
  event.period = get("period");
  event.reason = get("reason");
  std::string duration = get("duration");
  if (!duration.empty()) {
    auto units = ParseDayUnits(duration);
    if (!units || *units > kUnitsPerDay) {
      return "duration '" + duration + "' is not a number from 0 to 1 with at most 4 decimals";
    }
    event.duration = units;
  }
  return {};
}

// Fields of a JSON record; values must be strings or numbers. Returns a rejection reason.
std::string JsonFields(const json::value& value, Fields& fields) {
  if (!value.is_object()) return "record is not a JSON object";
  for (const auto& [key, field] : value.as_object()) {
    std::string name(key);
    bool known = false;
    for (const auto& candidate : KnownFields()) known = known || candidate == name;
    if (!known) return "unknown field '" + name + "'; expected: " + KnownFieldList();
    if (field.is_string()) {
      fields[name] = Trim(field.as_string());
    } else if (field.is_int64() || field.is_uint64()) {
      fields[name] = json::serialize(field);
    } else if (field.is_double()) {
      fields[name] = fmt::format("{}", field.as_double());  // shortest form: 0.5, not 5E-1
    } else if (!field.is_null()) {
      return "field '" + name + "' is not text or a number";
    }
  }
  return {};
}

std::string RawJson(const json::value& value) {
  std::string raw = json::serialize(value);
  constexpr size_t kMaxRaw = 2000;
  if (raw.size() > kMaxRaw) raw = raw.substr(0, kMaxRaw) + "...";
  return raw;
}

struct RawRecord {
  std::string location;
  std::string raw;
  Fields fields;
  std::string error;  // a reason found before validation (a bad row shape)
};

Result<std::vector<RawRecord>> ReadCsvRecords(std::string_view body) {
  std::vector<RawRecord> records;
  CsvReader reader(body);
  CsvRow row;
  if (!reader.Next(row)) {
    if (!reader.error().empty()) return Error{"CSV body: " + reader.error()};
    return records;
  }
  std::vector<std::string> header;
  for (const auto& name : row.fields) header.push_back(Trim(name));
  std::set<std::string> seen;
  for (const auto& name : header) {
    bool known = false;
    for (const auto& candidate : KnownFields()) known = known || candidate == name;
    if (!known) return Error{"CSV header column '" + name + "' is not a field; expected: " + KnownFieldList()};
    if (!seen.insert(name).second) return Error{"CSV header names column '" + name + "' twice"};
  }
  for (const char* required : {"student_id", "date", "code"}) {
    if (!seen.count(required)) return Error{"CSV header lacks the required column '" + std::string(required) + "'"};
  }

  while (reader.Next(row)) {
    RawRecord record;
    record.location = "line " + std::to_string(row.line);
    for (size_t i = 0; i < row.fields.size(); ++i) record.raw += (i ? "," : "") + row.fields[i];
    if (row.fields.size() != header.size()) {
      record.error = "row has " + std::to_string(row.fields.size()) + " fields but the header has " +
                     std::to_string(header.size());
    } else {
      for (size_t i = 0; i < header.size(); ++i) record.fields[header[i]] = Trim(row.fields[i]);
    }
    records.push_back(std::move(record));
  }
  if (!reader.error().empty()) {
    RawRecord record;
    record.location = "end of body";
    record.error = reader.error() + "; the rest of the body was not read";
    records.push_back(std::move(record));
  }
  return records;
}

Result<std::vector<RawRecord>> ReadJsonRecords(std::string_view body) {
  boost::system::error_code error;
  json::value document = json::parse(body, error);
  if (error) return Error{"JSON body is malformed: " + error.message()};

  const json::array* items = nullptr;
  if (document.is_array()) {
    items = &document.as_array();
  } else if (document.is_object() && document.as_object().contains("records") &&
             document.as_object().at("records").is_array()) {
    items = &document.as_object().at("records").as_array();
  } else {
    return Error{"JSON body must be an array of records or an object with a \"records\" array"};
  }

  std::vector<RawRecord> records;
  for (size_t i = 0; i < items->size(); ++i) {
    RawRecord record;
    record.location = "records[" + std::to_string(i) + "]";
    record.raw = RawJson((*items)[i]);
    record.error = JsonFields((*items)[i], record.fields);
    records.push_back(std::move(record));
  }
  return records;
}

bool IsBatchIdCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.';
}

}  // namespace

Result<std::string> ResolveBatchId(std::string_view header_value, std::string_view body) {
  if (header_value.empty()) return Sha256Hex(body).substr(0, 32);
  if (header_value.size() > 128) return Error{"X-Batch-Id is longer than 128 characters"};
  for (char c : header_value) {
    if (!IsBatchIdCharacter(c)) {
      return Error{"X-Batch-Id may contain only letters, digits, '-', '_' and '.'"};
    }
  }
  return std::string(header_value);
}

Result<PushBatch> ParsePushBatch(std::string_view content_type, std::string_view body, const std::string& batch_id,
                                 const AttendanceRules& rules, DateFormat date_format) {
  std::string media_type = Trim(content_type.substr(0, content_type.find(';')));
  for (char& c : media_type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  Result<std::vector<RawRecord>> records = Error{""};
  if (media_type == "text/csv") {
    records = ReadCsvRecords(body);
  } else if (media_type == "application/json") {
    records = ReadJsonRecords(body);
  } else {
    return Error{"Content-Type '" + std::string(content_type) + "' is not supported; send text/csv or application/json"};
  }
  if (!records) return records.error();

  PushBatch batch;
  batch.batch_id = batch_id;
  batch.snapshot.origin = "push:" + batch_id;
  batch.snapshot.cursor = Sha256Hex(body);

  // The store keys events by these fields; a second record with the same key would replace
  // the first, so it is rejected instead.
  std::map<std::string, size_t> first_record_of;
  for (size_t i = 0; i < records->size(); ++i) {
    const RawRecord& raw = (*records)[i];
    PushRecordResult result;
    result.record = i + 1;
    result.location = raw.location;

    AttendanceEvent event;
    std::string reason = raw.error.empty() ? ValidateRecord(raw.fields, rules, date_format, event) : raw.error;
    if (reason.empty()) {
      std::string key = event.student_id + '\x1f' + event.date.ToString() + '\x1f' + event.school_id + '\x1f' +
                        event.period + '\x1f' + event.category;
      auto [found, inserted] = first_record_of.emplace(key, result.record);
      if (!inserted) {
        reason = "same student, date, school, period and code as record " + std::to_string(found->second) +
                 "; send one record per event";
      }
    }

    if (reason.empty()) {
      result.stored = true;
      batch.snapshot.events.push_back(std::move(event));
      ++batch.stored;
    } else {
      result.reason = reason;
      batch.snapshot.rejected.push_back({batch.snapshot.origin + " " + raw.location, reason, raw.raw});
      ++batch.rejected;
    }
    batch.results.push_back(std::move(result));
  }
  return batch;
}

std::string PushResponseJson(const PushBatch& batch, const ApplyStats& stats) {
  json::object response;
  response["batch_id"] = batch.batch_id;
  response["origin"] = batch.snapshot.origin;
  response["records"] = batch.results.size();
  response["stored"] = batch.stored;
  response["rejected"] = batch.rejected;
  response["unchanged"] = stats.skipped;
  response["inserted"] = stats.inserted;
  response["updated"] = stats.updated;
  response["deleted"] = stats.deleted;
  json::array results;
  for (const auto& result : batch.results) {
    json::object item;
    item["record"] = result.record;
    item["location"] = result.location;
    item["status"] = result.stored ? "stored" : "rejected";
    if (!result.stored) item["reason"] = result.reason;
    results.push_back(std::move(item));
  }
  response["results"] = std::move(results);
  return json::serialize(response) + "\n";
}

}  // namespace tiersync
