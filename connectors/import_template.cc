#include "connectors/import_template.h"

#include <algorithm>
#include <cctype>

namespace tiersync {

const std::vector<std::string>& ImportFields() {
  static const std::vector<std::string> kFields = {
      "idempotency_key", "kind",        "action_id", "student_id",  "school_id",     "school_year",
      "role",            "title",       "due_date",  "change_date", "from_tier",     "to_tier",
      "trigger",         "reason",      "rules_version", "notice_template", "outbox_id",
      "assignee",        "language",    "notice_body", "notice_level", "household_students", "issued_on"};
  return kFields;
}

ImportTemplate ImportTemplate::Default() {
  ImportTemplate result;
  for (const auto& field : ImportFields()) {
    std::string name = field;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
    result.attributes.emplace_back(name, "{" + field + "}");
  }
  return result;
}

Status ValidatePattern(const std::string& pattern) {
  size_t pos = 0;
  while ((pos = pattern.find('{', pos)) != std::string::npos) {
    size_t close = pattern.find('}', pos);
    if (close == std::string::npos) return Error{"'{' at position " + std::to_string(pos) + " is never closed"};
    std::string field = pattern.substr(pos + 1, close - pos - 1);
    const auto& known = ImportFields();
    if (std::find(known.begin(), known.end(), field) == known.end()) {
      std::string list;
      for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
      return Error{"unknown field {" + field + "}; known fields: " + list};
    }
    pos = close + 1;
  }
  return {};
}

std::map<std::string, std::string> EntryFields(const OutboxEntry& entry) {
  const PlannedAction& action = entry.action;
  return {
      {"idempotency_key", action.idempotency_key},
      {"kind", ActionKindName(action.kind)},
      {"action_id", action.action_id},
      {"student_id", action.student_id},
      {"school_id", action.school_id},
      {"school_year", action.school_year.Label()},
      {"role", action.role},
      {"title", action.title},
      {"due_date", action.due_date.ToString()},
      {"change_date", action.change_date.ToString()},
      {"from_tier", std::to_string(action.from_tier)},
      {"to_tier", std::to_string(action.to_tier)},
      {"trigger", TriggerName(action.trigger)},
      {"reason", action.reason},
      {"rules_version", entry.rules_version},
      {"assignee", action.assignee},
      {"language", action.language},
      {"notice_body", action.body},
      {"notice_level", action.notice_level > 0 ? std::to_string(action.notice_level) : std::string()},
      {"household_students", entry.household_students},
      {"issued_on", entry.issued_on ? entry.issued_on->ToString() : std::string()},
      {"notice_template", action.notice_template},
      {"outbox_id", std::to_string(entry.id)},
  };
}

std::string RenderPattern(const std::string& pattern, const std::map<std::string, std::string>& fields) {
  std::string out;
  size_t pos = 0;
  while (pos < pattern.size()) {
    size_t open = pattern.find('{', pos);
    if (open == std::string::npos) break;
    size_t close = pattern.find('}', open);
    if (close == std::string::npos) break;
    out.append(pattern, pos, open - pos);
    auto found = fields.find(pattern.substr(open + 1, close - open - 1));
    if (found != fields.end()) out += found->second;
    pos = close + 1;
  }
  out.append(pattern, pos, std::string::npos);
  return out;
}

}  // namespace tiersync
