// The playbook's state in the store: outbox entries with their notice fields and statuses,
// task completions, student profiles, last year's tier and the removal of one student's
// tier state.

#include <map>
#include <unordered_map>

#include "store/outbox_row.h"

namespace tiersync {

namespace {

// The status reason of a notice just queued.
constexpr const char* kWaitingForRelease = "waiting for the release check";

constexpr const char* kOutboxColumns =
    "id, idempotency_key, kind, action_id, role, title, notice_template, student_id, school_id, school_year, "
    "trigger_name, from_tier, to_tier, change_date, due_date, reason, rules_version, status, attempts, "
    "last_error, remote_id, created_at, assignee, notice_level, basis, language, body, household_id, "
    "household_students, trigger_parameters, occurrence, hold_until, issued_on, status_reason";

}  // namespace

std::string OutboxSelect(const std::string& where_clause) {
  return std::string("SELECT ") + kOutboxColumns + " FROM outbox " + where_clause;
}

namespace {

// OutboxSelect with every notice body read as '', for the tier engine, which never reads
// one. A notice's body is about a kilobyte, most of the entry.
std::string OutboxSelectWithoutBody(const std::string& where_clause) {
  std::string columns = kOutboxColumns;
  columns.replace(columns.find(" body,"), std::string(" body,").size(), " '' AS body,");
  return "SELECT " + columns + " FROM outbox " + where_clause;
}

}  // namespace

OutboxEntry ReadOutboxRow(const sqlite::Statement& row) {
  OutboxEntry entry;
  entry.id = row.Int(0);
  PlannedAction& action = entry.action;
  action.idempotency_key = row.Text(1);
  action.kind = ActionKindFromName(row.Text(2)).value_or(ActionKind::kTask);
  action.action_id = row.Text(3);
  action.role = row.Text(4);
  action.title = row.Text(5);
  action.notice_template = row.Text(6);
  action.student_id = row.Text(7);
  action.school_id = row.Text(8);
  action.school_year = SchoolYear{static_cast<int>(row.Int(9))};
  action.trigger = TriggerFromName(row.Text(10)).value_or(Trigger::kTierEntered);
  action.from_tier = static_cast<int>(row.Int(11));
  action.to_tier = static_cast<int>(row.Int(12));
  action.change_date = Date(static_cast<int32_t>(row.Int(13)));
  action.due_date = Date(static_cast<int32_t>(row.Int(14)));
  action.reason = row.Text(15);
  entry.rules_version = row.Text(16);
  entry.status = row.Text(17);
  entry.attempts = static_cast<int>(row.Int(18));
  entry.last_error = row.Text(19);
  entry.remote_id = row.Text(20);
  entry.created_at = row.Text(21);
  action.assignee = row.Text(22);
  action.notice_level = static_cast<int>(row.Int(23));
  action.basis = row.Text(24) == NoticeBasisName(NoticeBasis::kUnexcused) ? NoticeBasis::kUnexcused
                                                                           : NoticeBasis::kAnyAbsence;
  action.language = row.Text(25);
  action.body = row.Text(26);
  action.household_id = row.Text(27);
  entry.household_students = row.Text(28);
  action.trigger_parameters = row.Text(29);
  action.occurrence = static_cast<int>(row.Int(30));
  action.hold_until = Date(static_cast<int32_t>(row.Int(31)));
  if (auto issued = row.OptionalInt(32)) entry.issued_on = Date(static_cast<int32_t>(*issued));
  entry.status_reason = row.Text(33);
  return entry;
}

std::optional<OutboxEntry> Store::InsertOutbox(const PlannedAction& action, int64_t tier_change_id,
                                               const std::string& rules_version) {
  bool notice = action.kind == ActionKind::kNotice;
  auto& statement = Cached(
      "INSERT INTO outbox (idempotency_key, tier_change_id, kind, action_id, role, title, notice_template, "
      "student_id, school_id, school_year, trigger_name, from_tier, to_tier, change_date, due_date, reason, "
      "rules_version, created_at, assignee, notice_level, basis, language, body, household_id, "
      "trigger_parameters, occurrence, hold_until, status, status_reason) VALUES "
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (idempotency_key) DO NOTHING");
  statement.Bind(1, action.idempotency_key)
      .Bind(2, tier_change_id > 0 ? std::optional<int64_t>(tier_change_id) : std::nullopt)
      .Bind(3, ActionKindName(action.kind))
      .Bind(4, action.action_id)
      .Bind(5, action.role)
      .Bind(6, action.title)
      .Bind(7, action.notice_template)
      .Bind(8, action.student_id)
      .Bind(9, action.school_id)
      .Bind(10, action.school_year.start_year)
      .Bind(11, TriggerName(action.trigger))
      .Bind(12, action.from_tier)
      .Bind(13, action.to_tier)
      .Bind(14, action.change_date.days())
      .Bind(15, action.due_date.days())
      .Bind(16, action.reason)
      .Bind(17, rules_version)
      .Bind(18, UtcTimestamp())
      .Bind(19, action.assignee)
      .Bind(20, action.notice_level)
      .Bind(21, NoticeBasisName(action.basis))
      .Bind(22, action.language)
      .Bind(23, action.body)
      .Bind(24, action.household_id)
      .Bind(25, action.trigger_parameters)
      .Bind(26, action.occurrence)
      .Bind(27, action.hold_until.days())
      .Bind(28, notice ? outbox_status::kHeld : outbox_status::kPending)
      .Bind(29, notice ? kWaitingForRelease : "");
  statement.Run();
  if (db_.Changes() == 0) return std::nullopt;
  OutboxEntry entry;
  entry.id = db_.LastInsertRowId();
  entry.action = action;
  entry.rules_version = rules_version;
  entry.status = notice ? outbox_status::kHeld : outbox_status::kPending;
  entry.status_reason = notice ? kWaitingForRelease : "";
  return entry;
}

std::vector<OutboxEntry> Store::LoadStudentOutbox(const std::string& student_id, int school_year) {
  // Cached() keys statements by the address of their SQL text, so the text needs static storage.
  static const std::string sql = OutboxSelectWithoutBody("WHERE school_year = ? AND student_id = ? ORDER BY id");
  std::vector<OutboxEntry> entries;
  auto& statement = Cached(sql.c_str());
  statement.Bind(1, school_year).Bind(2, student_id);
  while (statement.Step()) entries.push_back(ReadOutboxRow(statement));
  return entries;
}

std::unordered_map<std::string, std::vector<OutboxEntry>> Store::LoadAllStudentOutboxes(
    int school_year, const std::optional<StudentRange>& range) {
  std::unordered_map<std::string, std::vector<OutboxEntry>> entries;
  auto statement = db_.Prepare(OutboxSelectWithoutBody(range ? "WHERE school_year = ? AND student_id BETWEEN ? AND ? ORDER BY student_id, id"
                                                  : "WHERE school_year = ? ORDER BY student_id, id"));
  statement.Bind(1, school_year);
  if (range) statement.Bind(2, range->first).Bind(3, range->last);
  while (statement.Step()) {
    OutboxEntry entry = ReadOutboxRow(statement);
    std::vector<OutboxEntry>& student_entries = entries[entry.action.student_id];
    student_entries.push_back(std::move(entry));
  }
  return entries;
}

void Store::SetOutboxStatus(int64_t id, const std::string& status, const std::string& reason,
                            std::optional<Date> issued_on) {
  Cached("UPDATE outbox SET status = ?, status_reason = ?, issued_on = COALESCE(?, issued_on) WHERE id = ?")
      .Bind(1, status)
      .Bind(2, reason)
      .Bind(3, issued_on ? std::optional<int64_t>(issued_on->days()) : std::nullopt)
      .Bind(4, id)
      .Run();
}

Status Store::ApproveNotice(const std::string& idempotency_key, Date approved_on) {
  db_.Prepare("UPDATE outbox SET status = ?, status_reason = ? WHERE idempotency_key = ? AND status = ?")
      .Bind(1, outbox_status::kPending)
      .Bind(2, "approved on " + approved_on.ToString())
      .Bind(3, idempotency_key)
      .Bind(4, outbox_status::kAwaitingApproval)
      .Run();
  if (db_.Changes() == 0) {
    return Error{"no notice with key " + idempotency_key +
                 " awaits approval; list them with `tiersync outbox list --status awaiting_approval`"};
  }
  RecheckStudentOf(idempotency_key);
  return {};
}

Status Store::CompleteTask(const std::string& idempotency_key, Date completed_on) {
  auto check = db_.Prepare("SELECT kind FROM outbox WHERE idempotency_key = ?");
  check.Bind(1, idempotency_key);
  if (!check.Step() || check.Text(0) != ActionKindName(ActionKind::kTask)) {
    return Error{"no task with key " + idempotency_key + " is in the outbox; check the key in the exported file"};
  }
  db_.Prepare(
         "INSERT INTO task_completion (idempotency_key, completed_on, recorded_at) VALUES (?, ?, ?) "
         "ON CONFLICT (idempotency_key) DO UPDATE SET completed_on = excluded.completed_on")
      .Bind(1, idempotency_key)
      .Bind(2, completed_on.days())
      .Bind(3, UtcTimestamp())
      .Run();
  RecheckStudentOf(idempotency_key);
  return {};
}

void Store::RecheckStudentOf(const std::string& idempotency_key) {
  auto student = db_.Prepare("SELECT student_id FROM outbox WHERE idempotency_key = ?");
  student.Bind(1, idempotency_key);
  if (student.Step()) RecheckStudent(student.Text(0));
}

std::set<std::string> Store::CompletedTasks(const std::string& student_id, int school_year) {
  std::set<std::string> keys;
  auto& statement = Cached(
      "SELECT c.idempotency_key FROM task_completion c JOIN outbox o ON o.idempotency_key = c.idempotency_key "
      "WHERE o.school_year = ? AND o.student_id = ?");
  statement.Bind(1, school_year).Bind(2, student_id);
  while (statement.Step()) keys.insert(statement.Text(0));
  return keys;
}

std::unordered_map<std::string, std::set<std::string>> Store::AllCompletedTasks(int school_year) {
  // CROSS JOIN keeps task_completion, the tasks staff finished in any year, as the outer
  // loop. It is usually much smaller than the year's outbox, which SQLite would scan first.
  std::unordered_map<std::string, std::set<std::string>> keys;
  auto statement = db_.Prepare(
      "SELECT o.student_id, c.idempotency_key FROM task_completion c "
      "CROSS JOIN outbox o ON o.idempotency_key = c.idempotency_key WHERE o.school_year = ?");
  statement.Bind(1, school_year);
  while (statement.Step()) keys[statement.Text(0)].insert(statement.Text(1));
  return keys;
}

std::optional<StudentProfile> Store::LoadStudentProfile(const std::string& student_id) {
  auto& statement =
      Cached("SELECT household_id, preferred_language, grade FROM student_profile WHERE student_id = ?");
  statement.Bind(1, student_id);
  std::optional<StudentProfile> profile;
  if (statement.Step()) profile = StudentProfile{student_id, statement.Text(0), statement.Text(1), statement.Text(2)};
  statement.Reset();  // an unfinished statement would hold its read transaction open
  return profile;
}

std::unordered_map<std::string, StudentProfile> Store::LoadAllStudentProfiles() {
  std::unordered_map<std::string, StudentProfile> profiles;
  auto statement = db_.Prepare("SELECT student_id, household_id, preferred_language, grade FROM student_profile");
  while (statement.Step()) {
    std::string student_id = statement.Text(0);
    profiles.emplace(student_id, StudentProfile{student_id, statement.Text(1), statement.Text(2), statement.Text(3)});
  }
  return profiles;
}

std::unordered_map<std::string, Date> Store::EarliestIssuedNotices(int school_year, int notice_level) {
  auto statement = db_.Prepare(
      "SELECT student_id, MIN(issued_on) FROM outbox WHERE school_year = ? AND kind = 'notice' "
      "AND issued_on IS NOT NULL AND notice_level = ? AND status <> 'cancelled' GROUP BY student_id");
  statement.Bind(1, school_year).Bind(2, notice_level);
  std::unordered_map<std::string, Date> issued;
  while (statement.Step()) issued.emplace(statement.Text(0), Date(static_cast<int32_t>(statement.Int(1))));
  return issued;
}

std::optional<int> Store::LoadTier(const std::string& student_id, int school_year) {
  auto& statement = Cached("SELECT tier FROM tier_state WHERE school_year = ? AND student_id = ?");
  statement.Bind(1, school_year).Bind(2, student_id);
  std::optional<int> tier;
  if (statement.Step()) tier = static_cast<int>(statement.Int(0));
  statement.Reset();  // an unfinished statement would hold its read transaction open
  return tier;
}

void Store::DeleteTierState(int school_year, const std::string& student_id) {
  Cached("DELETE FROM tier_state WHERE school_year = ? AND student_id = ?")
      .Bind(1, school_year)
      .Bind(2, student_id)
      .Run();
  Cached("DELETE FROM tier_state_days WHERE school_year = ? AND student_id = ?")
      .Bind(1, school_year)
      .Bind(2, student_id)
      .Run();
}

size_t Store::MergeHouseholdNotices(int school_year, Date issued_on) {
  auto statement = db_.Prepare(
      "SELECT id, household_id, action_id, student_id FROM outbox WHERE school_year = ? AND kind = 'notice' "
      "AND issued_on = ? AND household_id != '' AND status IN ('pending', 'awaiting_approval') ORDER BY id");
  statement.Bind(1, school_year).Bind(2, issued_on.days());
  struct Group {
    int64_t keeper = 0;
    std::vector<std::pair<int64_t, std::string>> members;  // (id, student)
  };
  std::map<std::pair<std::string, std::string>, Group> groups;  // (household, action) -> group
  while (statement.Step()) {
    Group& group = groups[{statement.Text(1), statement.Text(2)}];
    if (group.keeper == 0) group.keeper = statement.Int(0);
    group.members.emplace_back(statement.Int(0), statement.Text(3));
  }

  // NOTE: the kept notice's body is rendered for its own student; the other students reach
  // the letter only through household_students, for the SIS mail merge to list them.
  size_t merged = 0;
  auto set_students = db_.Prepare("UPDATE outbox SET household_students = ? WHERE id = ?");
  for (const auto& [key, group] : groups) {
    if (group.members.size() < 2) continue;
    std::string students;
    for (const auto& [id, student] : group.members) students += (students.empty() ? "" : ";") + student;
    set_students.Bind(1, students).Bind(2, group.keeper).Run();
    for (const auto& [id, student] : group.members) {
      if (id == group.keeper) continue;
      SetOutboxStatus(id, outbox_status::kMerged,
                      "covered by the household notice, outbox entry " + std::to_string(group.keeper));
      ++merged;
    }
  }
  return merged;
}

void Store::ApplyStudentProfiles(const Snapshot& snapshot, ApplyStats& stats) {
  std::map<std::string, std::string> before;  // student -> "household|language|grade"
  auto select = db_.Prepare("SELECT student_id, household_id, preferred_language, grade FROM student_profile "
                            "WHERE origin = ?");
  select.Bind(1, snapshot.origin);
  while (select.Step()) before[select.Text(0)] = select.Text(1) + "\x1f" + select.Text(2) + "\x1f" + select.Text(3);

  auto upsert = db_.Prepare(
      "INSERT INTO student_profile (student_id, household_id, preferred_language, grade, origin) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (student_id) DO UPDATE SET household_id = excluded.household_id, "
      "preferred_language = excluded.preferred_language, grade = excluded.grade, origin = excluded.origin");
  std::set<std::string> seen;
  std::vector<std::string> changed;
  for (const auto& profile : snapshot.students) {
    if (!seen.insert(profile.student_id).second) continue;
    std::string value = profile.household_id + "\x1f" + profile.preferred_language + "\x1f" + profile.grade;
    auto found = before.find(profile.student_id);
    if (found != before.end() && found->second == value) continue;
    ++(found == before.end() ? stats.inserted : stats.updated);
    upsert.Bind(1, profile.student_id).Bind(2, profile.household_id).Bind(3, profile.preferred_language)
        .Bind(4, profile.grade).Bind(5, snapshot.origin).Run();
    changed.push_back(profile.student_id);
  }
  auto remove = db_.Prepare("DELETE FROM student_profile WHERE student_id = ? AND origin = ?");
  for (const auto& [student, value] : before) {
    if (seen.count(student)) continue;
    remove.Bind(1, student).Bind(2, snapshot.origin).Run();
    ++stats.deleted;
    changed.push_back(student);
  }

  // The playbook reads profiles (language, household, grade), so their students are
  // planned again at the next run. Many changes, as in a first load, recheck everyone.
  if (changed.size() > kRecheckEveryoneFrom) {
    db_.Exec("UPDATE tier_state SET recheck_on = 0");
  } else {
    for (const auto& student : changed) RecheckStudent(student);
  }
}

}  // namespace tiersync
