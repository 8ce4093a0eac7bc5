#include "rules/notice_template.h"

#include <algorithm>

namespace tiersync {

const std::vector<std::string>& NoticePlaceholders() {
  static const std::vector<std::string> kPlaceholders = {
      "student_id", "school_id", "school_name", "school_year", "tier", "absent_days",
      "excused_days", "unexcused_days", "enrolled_days", "trigger_date", "respond_by"};
  return kPlaceholders;
}

Status ValidateNoticeBody(const std::string& body) {
  size_t position = 0;
  while ((position = body.find_first_of("{}", position)) != std::string::npos) {
    if (body[position] == '}') return Error{"a '}' at offset " + std::to_string(position) + " has no '{' before it"};
    size_t close = body.find('}', position);
    if (close == std::string::npos) return Error{"a '{' at offset " + std::to_string(position) + " is never closed"};
    std::string name = body.substr(position + 1, close - position - 1);
    const auto& known = NoticePlaceholders();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& item : known) list += (list.empty() ? "" : ", ") + item;
      return Error{"unknown placeholder {" + name + "}; use one of: " + list};
    }
    position = close + 1;
  }
  return {};
}

std::string RenderNotice(const std::string& body, const std::map<std::string, std::string>& values) {
  std::string out;
  size_t position = 0;
  while (position < body.size()) {
    size_t open = body.find('{', position);
    if (open == std::string::npos) break;
    size_t close = body.find('}', open);
    if (close == std::string::npos) break;
    out.append(body, position, open - position);
    auto found = values.find(body.substr(open + 1, close - open - 1));
    if (found != values.end()) out += found->second;
    position = close + 1;
  }
  out.append(body, position, std::string::npos);
  return out;
}

}  // namespace tiersync
