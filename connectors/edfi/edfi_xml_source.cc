#include "connectors/edfi/edfi_xml_source.h"

#include <pugixml.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

namespace tiersync {

namespace {

std::string_view LocalName(const pugi::xml_node& node) {
  std::string_view name = node.name();
  auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

// Follows a path of local names below `node`, e.g. {"StudentReference", "StudentIdentity",
// "StudentUniqueId"}, and returns the trimmed text there ("" when absent).
std::string TextAt(const pugi::xml_node& node, std::initializer_list<std::string_view> path) {
  pugi::xml_node current = node;
  for (std::string_view step : path) {
    pugi::xml_node next;
    for (pugi::xml_node child = current.first_child(); child; child = child.next_sibling()) {
      if (child.type() == pugi::node_element && LocalName(child) == step) {
        next = child;
        break;
      }
    }
    if (!next) return {};
    current = next;
  }
  std::string text = current.child_value();
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

class LineIndex {
 public:
  explicit LineIndex(std::string_view text) {
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }
  size_t LineOf(ptrdiff_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), static_cast<size_t>(offset));
    return static_cast<size_t>(it - line_starts_.begin());
  }

 private:
  std::vector<size_t> line_starts_{0};
};

struct Reader {
  const std::string& display_path;
  const LineIndex& lines;
  Snapshot& snapshot;

  std::string Location(const pugi::xml_node& node) const {
    return display_path + ":" + std::to_string(lines.LineOf(node.offset_debug()));
  }

  void Reject(const pugi::xml_node& node, const std::string& reason) {
    snapshot.rejected.push_back({Location(node), reason, std::string("<") + node.name() + ">"});
  }

  std::optional<Date> RequiredDate(const pugi::xml_node& node, std::initializer_list<std::string_view> path,
                                   const char* what) {
    std::string text = TextAt(node, path);
    auto date = Date::Parse(text);
    if (!date) Reject(node, std::string(what) + " '" + text + "' is missing or not a YYYY-MM-DD date");
    return date;
  }

  void AttendanceEvent(const pugi::xml_node& node, bool section) {
    tiersync::AttendanceEvent event;
    event.student_id = TextAt(node, {"StudentReference", "StudentIdentity", "StudentUniqueId"});
    if (section) {
      event.school_id = TextAt(node, {"SectionReference", "SectionIdentity", "CourseOfferingReference",
                                      "CourseOfferingIdentity", "SchoolReference", "SchoolIdentity", "SchoolId"});
      event.period = TextAt(node, {"SectionReference", "SectionIdentity", "SectionIdentifier"});
    } else {
      event.school_id = TextAt(node, {"SchoolReference", "SchoolIdentity", "SchoolId"});
    }
    event.category = TextAt(node, {"AttendanceEvent", "AttendanceEventCategory"});
    event.reason = TextAt(node, {"AttendanceEvent", "AttendanceEventReason"});

    if (event.student_id.empty()) return Reject(node, "StudentUniqueId is missing");
    if (event.school_id.empty()) return Reject(node, "SchoolId is missing");
    if (section && event.period.empty()) return Reject(node, "SectionIdentifier is missing");
    if (event.category.empty()) return Reject(node, "AttendanceEventCategory is missing");
    auto date = RequiredDate(node, {"AttendanceEvent", "EventDate"}, "EventDate");
    if (!date) return;
    event.date = *date;

    std::string duration = TextAt(node, {"AttendanceEvent", "EventDuration"});
    if (!duration.empty()) {
      auto units = ParseDayUnits(duration);
      if (!units || *units > kUnitsPerDay) {
        return Reject(node, "EventDuration '" + duration + "' is not a number from 0 to 1 with at most 4 decimals");
      }
      event.duration = units;
    }
    snapshot.events.push_back(std::move(event));
  }

  void Enrollment(const pugi::xml_node& node) {
    tiersync::Enrollment enrollment;
    enrollment.student_id = TextAt(node, {"StudentReference", "StudentIdentity", "StudentUniqueId"});
    enrollment.school_id = TextAt(node, {"SchoolReference", "SchoolIdentity", "SchoolId"});
    enrollment.grade = TextAt(node, {"EntryGradeLevel"});
    if (auto hash = enrollment.grade.rfind('#'); hash != std::string::npos) enrollment.grade.erase(0, hash + 1);
    if (enrollment.student_id.empty()) return Reject(node, "StudentUniqueId is missing");
    if (enrollment.school_id.empty()) return Reject(node, "SchoolId is missing");
    auto entry = RequiredDate(node, {"EntryDate"}, "EntryDate");
    if (!entry) return;
    enrollment.entry_date = *entry;
    std::string exit = TextAt(node, {"ExitWithdrawDate"});
    if (!exit.empty()) {
      auto exit_date = Date::Parse(exit);
      if (!exit_date || *exit_date < *entry) {
        return Reject(node, "ExitWithdrawDate '" + exit + "' is not a date on or after EntryDate");
      }
      enrollment.exit_date = exit_date;
    }
    snapshot.enrollments.push_back(std::move(enrollment));
  }

  void Session(const pugi::xml_node& node) {
    tiersync::Session session;
    session.name = TextAt(node, {"SessionName"});
    session.school_id = TextAt(node, {"SchoolReference", "SchoolIdentity", "SchoolId"});
    session.school_year = TextAt(node, {"SchoolYear"});
    auto begin = RequiredDate(node, {"BeginDate"}, "BeginDate");
    auto end = RequiredDate(node, {"EndDate"}, "EndDate");
    if (!begin || !end) return;
    session.begin_date = *begin;
    session.end_date = *end;
    std::string total = TextAt(node, {"TotalInstructionalDays"});
    session.total_instructional_days = total.empty() ? 0 : std::atoi(total.c_str());
    if (session.name.empty() || session.school_id.empty()) return Reject(node, "SessionName or SchoolId is missing");
    snapshot.sessions.push_back(std::move(session));
  }
};

}  // namespace

Result<Snapshot> ParseEdFiXml(const std::string& origin, const std::string& display_path, std::string_view xml) {
  pugi::xml_document document;
  pugi::xml_parse_result parsed = document.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  LineIndex lines(xml);
  if (!parsed) {
    return Error{display_path + ":" + std::to_string(lines.LineOf(parsed.offset)) + ": not well-formed XML (" +
                 parsed.description() + "); export the interchange file again"};
  }

  Snapshot snapshot;
  snapshot.origin = origin;
  Reader reader{display_path, lines, snapshot};
  pugi::xml_node root = document.document_element();
  for (pugi::xml_node node = root.first_child(); node; node = node.next_sibling()) {
    if (node.type() != pugi::node_element) continue;
    std::string_view name = LocalName(node);
    if (name == "StudentSchoolAttendanceEvent") {
      reader.AttendanceEvent(node, false);
    } else if (name == "StudentSectionAttendanceEvent") {
      reader.AttendanceEvent(node, true);
    } else if (name == "StudentSchoolAssociation") {
      reader.Enrollment(node);
    } else if (name == "Session") {
      reader.Session(node);
    }
    // NOTE: other interchange elements (CalendarDate, GradingPeriod, discipline) are not
    // read yet; day-by-day calendars come from a CSV source.
  }
  return snapshot;
}

Result<std::vector<Snapshot>> EdFiXmlSource::Read(const CursorLookup& stored_cursor) {
  std::vector<Snapshot> snapshots;
  auto status = ReadFiles(stored_cursor, [&](Snapshot&& snapshot) { snapshots.push_back(std::move(snapshot)); });
  if (!status) return status.error();
  return snapshots;
}

Status EdFiXmlSource::ReadEach(const CursorLookup& stored_cursor, const std::function<void(Snapshot&&)>& apply) {
  CursorLookup lookup = FreezeCursors(config_.name, config_.paths, stored_cursor);

  // Check that every file that will be read opens. Malformed XML is found only when the
  // file is parsed, after the files before it were applied.
  for (const auto& path : config_.paths) {
    if (UnchangedByStamp(path, lookup(config_.name + ":" + path))) continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return Error{"source '" + config_.name + "': cannot open " + path + ": " + std::strerror(errno) +
                   "; check the path in the configuration"};
    }
  }
  return ReadFiles(lookup, apply);
}

Status EdFiXmlSource::ReadFiles(const CursorLookup& stored_cursor, const std::function<void(Snapshot&&)>& apply) {
  auto parse = [this](const std::string& origin, const std::string& path,
                      const std::string& contents) -> Result<Snapshot> {
    auto snapshot = ParseEdFiXml(origin, path, contents);
    if (!snapshot) return Error{"source '" + config_.name + "': " + snapshot.error().message};
    return snapshot;
  };
  return ReadSourceFiles(config_.name, config_.paths, stored_cursor, parse, apply);
}

}  // namespace tiersync
