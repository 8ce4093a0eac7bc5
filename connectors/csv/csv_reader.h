#pragma once

// An RFC 4180 CSV parser: quoted fields with doubled quotes, embedded commas and line
// breaks, CRLF or LF line ends, and a UTF-8 byte order mark at the start.

#include <string>
#include <string_view>
#include <vector>

namespace tiersync {

struct CsvRow {
  size_t line = 0;  // 1-based line where the row starts
  std::vector<std::string> fields;
};

class CsvReader {
 public:
  explicit CsvReader(std::string_view text);

  // Reads the next row; returns false at the end. A quote left open at the end of the
  // text sets `error()` and ends reading.
  bool Next(CsvRow& row);
  const std::string& error() const { return error_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
  std::string error_;
};

// Header names with duplicates made addressable: the second "DATE" becomes "DATE#2".
std::vector<std::string> UniqueHeaderNames(const std::vector<std::string>& header);

}  // namespace tiersync
