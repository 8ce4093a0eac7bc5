#include "tests/integration/synergy_fixture.h"

namespace tiersync::testing {

std::unique_ptr<SynergySimulator> StartSimulator(const TempDir& dir, const SimulatorSetup& setup,
                                                 SimulatorOptions options) {
  options.db_path = dir.File("simulator.db");
  options.tls = setup.tls;
  options.cert_file = SourcePath("tests/simulator/certs/" + setup.certificate + ".pem");
  options.key_file = SourcePath("tests/simulator/certs/" + setup.certificate + "-key.pem");
  options.password = kSimulatorPassword;
  auto simulator = std::make_unique<SynergySimulator>(options);
  if (setup.load_grand_bend) simulator->LoadGrandBend(SourcePath("data/grand-bend"));
  simulator->Start();
  return simulator;
}

std::string WriteSynergyConfig(const TempDir& dir, const SynergyConfigSetup& setup) {
  std::string data = SourcePath("data/grand-bend");
  WriteText(dir.File("password"), setup.password + "\n");
  std::string config = R"(district:
  name: Grand Bend ISD
  time_zone: America/Chicago
store:
  path: )" + dir.File(setup.store_name) + R"(
rules:
  version: "test-1"
  attendance_codes:
)";
  if (setup.synergy_source) {
    config += R"(    EXC: { counts_as: excused, amount: 1 }
    UNE: { counts_as: unexcused, amount: 1 }
    UNV: { counts_as: unexcused, amount: 1 }
    TDY: { counts_as: not_absent }
    TAR: { counts_as: not_absent }
    ACT: { counts_as: not_absent }
)";
  } else {
    config += R"(    "Excused Absence":   { counts_as: excused, amount: 1 }
    "Unexcused Absence": { counts_as: unexcused, amount: 1 }
    "Partial":           { counts_as: unexcused, amount: 0.5 }
    "Tardy":             { counts_as: not_absent }
    "Early departure":   { counts_as: not_absent }
    "In Attendance":     { counts_as: not_absent }
)";
  }
  config += "playbook: " + SourcePath("config/playbook.yaml") + R"(
synergy:
  url: )" + setup.url + R"(
  user: tiersync
  password_file: )" + dir.File("password") + R"(
  protocol: )" + setup.protocol + R"(
  tls:
    ca_file: )" + SourcePath("tests/simulator/certs/ca.pem") + R"(
    insecure_skip_verify: )" + (setup.insecure_skip_verify ? "true" : "false") + R"(
  connect_timeout_ms: 5000
  request_timeout_ms: )" + std::to_string(setup.request_timeout_ms) + R"(
  min_login_interval_ms: 3000
  retry: { max_attempts: )" + std::to_string(setup.max_attempts) + R"(, base_ms: 10, cap_ms: 40 }
  poll_interval_ms: 1
  report_timeout_seconds: 5
)" + setup.extra_synergy + "sources:\n";

  if (setup.synergy_source) {
    config += R"(  - name: synergy
    type: synergy_report
    recent_days: 14
    reports:
      absence_codes:
        report_id: TS-ABS-CODES
        format: xml
        columns: { code: ABBREVIATION, type: TYPE }
      calendar:
        report_id: TS-CALENDAR
        format: xml
        columns: { school_id: SCHOOL_CODE, date: CAL_DATE, instructional_fraction: DAY_FRACTION }
      enrollments:
        report_id: TS-ENROLLMENTS
        columns: { student_id: SIS_NUMBER, school_id: SCHOOL_CODE, entry_date: ENTER_DATE, exit_date: LEAVE_DATE }
      daily_attendance:
        report_id: TS-ATT-DAILY
        columns: { student_id: SIS_NUMBER, school_id: SCHOOL_CODE, date: DATE, code: CODE, duration: ABS_FTE }
        options: { START_DATE: "{start_date}", END_DATE: "{end_date}" }
      period_attendance:
        report_id: TS-ATT-PERIOD
        format: xml
        columns: { student_id: SIS_NUMBER, school_id: SCHOOL_CODE, date: DATE, period: BELL_PERIOD, code: CODE }
        options: { START_DATE: "{start_date}", END_DATE: "{end_date}" }
)";
  } else {
    config += R"(  - name: calendar
    type: csv
    kind: calendar
    paths: [)" + data + R"(/calendar.csv]
  - name: enrollments
    type: csv
    kind: enrollments
    paths: [)" + data + R"(/enrollments.csv]
  - name: edfi
    type: edfi_xml
    paths:
      - )" + data + R"(/EducationOrgCalendar.xml
      - )" + data + R"(/StudentSchoolAttendance.xml
      - )" + data + R"(/StudentSectionAttendance-Tardy.xml
)";
  }

  if (setup.synergy_sink) {
    config += R"(sink:
  type: synergy
  templates:
    task:
      element: TIERSYNC_TASK
      attributes: { IDEMPOTENCY_KEY: "{idempotency_key}", SIS_NUMBER: "{student_id}", TITLE: "{title}", DUE_DATE: "{due_date}" }
    contact:
      element: TIERSYNC_CONTACT_LOG
      attributes: { IDEMPOTENCY_KEY: "{idempotency_key}", SIS_NUMBER: "{student_id}", TITLE: "{title}" }
    notice:
      element: TIERSYNC_NOTICE
      attributes: { IDEMPOTENCY_KEY: "{idempotency_key}", SIS_NUMBER: "{student_id}", TEMPLATE: "{notice_template}" }
  key_check:
    report_id: TS-IMPORT-KEYS
    key_column: IDEMPOTENCY_KEY
    options: { KEYS: "{keys}" }
)";
  } else {
    config += "sink:\n  type: file\n  directory: " + dir.File("out") + "\n";
  }
  std::string path = dir.File("tiersync.yaml");
  WriteText(path, config);
  return path;
}

}  // namespace tiersync::testing
