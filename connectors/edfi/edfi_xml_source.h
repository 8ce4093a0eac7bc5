#pragma once

// Ed-Fi XML interchange files: StudentSchoolAttendanceEvent (daily events),
// StudentSectionAttendanceEvent (class-period events, the section is the period),
// StudentSchoolAssociation (enrollments) and Session. Elements are matched by local name,
// so files of any Ed-Fi namespace version (5.1.0, 5.2.0, 6.1.0) read the same.

#include <string>
#include <string_view>
#include <vector>

#include "connectors/source.h"

namespace tiersync {

struct EdFiXmlSourceConfig {
  std::string name;
  std::vector<std::string> paths;
};

// Parses one interchange document. An error means the XML itself is malformed; records
// missing a required element become rejected records naming their line.
Result<Snapshot> ParseEdFiXml(const std::string& origin, const std::string& display_path, std::string_view xml);

class EdFiXmlSource : public Source {
 public:
  explicit EdFiXmlSource(EdFiXmlSourceConfig config) : config_(std::move(config)) {}
  const std::string& name() const override { return config_.name; }
  Result<std::vector<Snapshot>> Read(const CursorLookup& stored_cursor) override;
  Status ReadEach(const CursorLookup& stored_cursor, const std::function<void(Snapshot&&)>& apply) override;

 private:
  Status ReadFiles(const CursorLookup& stored_cursor, const std::function<void(Snapshot&&)>& apply);

  EdFiXmlSourceConfig config_;
};

}  // namespace tiersync
