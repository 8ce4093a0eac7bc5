#pragma once

// Templates that turn an outbox entry into an import row: an element name and attributes
// whose values contain {field} placeholders, e.g. SIS_NUMBER: "{student_id}".

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/store.h"

namespace tiersync {

struct ImportTemplate {
  std::string element = "TIERSYNC_ACTION";
  // Attribute name -> value pattern, in output order.
  std::vector<std::pair<std::string, std::string>> attributes;

  // Every field with an attribute named after it in upper case.
  static ImportTemplate Default();
};

// Placeholder names an import template may use.
const std::vector<std::string>& ImportFields();

// Checks that every placeholder in `pattern` is a known field and every brace is closed.
Status ValidatePattern(const std::string& pattern);

// Returns the entry's fields by name (student_id, due_date, idempotency_key, ...).
std::map<std::string, std::string> EntryFields(const OutboxEntry& entry);

// Replaces each {field} in `pattern` with the value from `fields`.
std::string RenderPattern(const std::string& pattern, const std::map<std::string, std::string>& fields);

}  // namespace tiersync
