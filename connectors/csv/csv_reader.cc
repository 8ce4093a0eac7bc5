#include "connectors/csv/csv_reader.h"

#include <map>

namespace tiersync {

CsvReader::CsvReader(std::string_view text) : text_(text) {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

bool CsvReader::Next(CsvRow& row) {
  row.fields.clear();
  // Skip blank lines between rows.
  while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  if (pos_ >= text_.size() || !error_.empty()) return false;

  row.line = line_;
  std::string field;
  bool quoted = false;
  bool field_was_quoted = false;
  while (pos_ < text_.size()) {
    char c = text_[pos_++];
    if (quoted) {
      if (c == '"') {
        if (pos_ < text_.size() && text_[pos_] == '"') {
          field.push_back('"');
          ++pos_;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && field.empty() && !field_was_quoted) {
      quoted = true;
      field_was_quoted = true;
    } else if (c == ',') {
      row.fields.push_back(std::move(field));
      field.clear();
      field_was_quoted = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++line_;
      break;
    } else {
      field.push_back(c);
    }
  }
  if (quoted) {
    error_ = "a quoted field that starts on line " + std::to_string(row.line) + " is never closed";
    return false;
  }
  row.fields.push_back(std::move(field));
  return true;
}

std::vector<std::string> UniqueHeaderNames(const std::vector<std::string>& header) {
  std::map<std::string, int> seen;
  std::vector<std::string> names;
  for (const auto& raw : header) {
    std::string name = raw;
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.erase(name.begin());
    int count = ++seen[name];
    names.push_back(count == 1 ? name : name + "#" + std::to_string(count));
  }
  return names;
}

}  // namespace tiersync
