// Outbox delivery state and the data-quality listings.

#include "store/outbox_row.h"

namespace tiersync {

std::vector<OutboxEntry> Store::DueOutbox(int64_t now_unix, size_t limit) {
  std::vector<OutboxEntry> entries;
  auto statement = db_.Prepare(OutboxSelect("WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?"));
  statement.Bind(1, now_unix).Bind(2, static_cast<int64_t>(limit));
  while (statement.Step()) entries.push_back(ReadOutboxRow(statement));
  return entries;
}

std::vector<OutboxEntry> Store::ListOutbox(const std::string& status, size_t limit) {
  std::vector<OutboxEntry> entries;
  auto statement = db_.Prepare(OutboxSelect("WHERE (?1 = '' OR status = ?1) ORDER BY id LIMIT ?2"));
  statement.Bind(1, status).Bind(2, static_cast<int64_t>(limit));
  while (statement.Step()) entries.push_back(ReadOutboxRow(statement));
  return entries;
}

void Store::MarkDelivered(const std::vector<int64_t>& ids, const std::string& remote_id) {
  sqlite::Transaction transaction(db_);
  auto statement = db_.Prepare(
      "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, remote_id = ?, delivered_at = ?, "
      "last_error = '' WHERE id = ?");
  std::string now = UtcTimestamp();
  for (int64_t id : ids) statement.Bind(1, remote_id).Bind(2, now).Bind(3, id).Run();
  transaction.Commit();
}

namespace {

std::vector<int64_t> UpdateDeadLetters(sqlite::Database& db, const std::vector<int64_t>& ids, const char* set_clause) {
  sqlite::Transaction transaction(db);
  std::vector<int64_t> targets = ids;
  if (targets.empty()) {
    auto select = db.Prepare("SELECT id FROM outbox WHERE status = 'dead' ORDER BY id");
    while (select.Step()) targets.push_back(select.Int(0));
  }
  auto update = db.Prepare(std::string("UPDATE outbox SET ") + set_clause + " WHERE id = ? AND status = 'dead'");
  // A pending notice may be checked again at every run (NextDecisionDate), so its student
  // is evaluated in full at the next one.
  auto recheck = db.Prepare(
      "UPDATE tier_state SET recheck_on = 0 WHERE school_year = (SELECT school_year FROM outbox WHERE id = ?1) "
      "AND student_id = (SELECT student_id FROM outbox WHERE id = ?1)");
  std::vector<int64_t> changed;
  for (int64_t id : targets) {
    update.Bind(1, id).Run();
    if (db.Changes() == 0) continue;
    changed.push_back(id);
    recheck.Bind(1, id).Run();
  }
  transaction.Commit();
  return changed;
}

}  // namespace

std::vector<int64_t> Store::RetryDeadLetters(const std::vector<int64_t>& ids) {
  return UpdateDeadLetters(db_, ids, "status = 'pending', attempts = 0, next_attempt_at = 0");
}

std::vector<int64_t> Store::DiscardDeadLetters(const std::vector<int64_t>& ids) {
  return UpdateDeadLetters(db_, ids, "status = 'discarded'");
}

void Store::MarkFailed(int64_t id, const std::string& error, int64_t next_attempt_unix, bool dead) {
  Cached("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, status = ? WHERE id = ?")
      .Bind(1, error)
      .Bind(2, next_attempt_unix)
      .Bind(3, dead ? "dead" : "pending")
      .Bind(4, id)
      .Run();
}

std::map<std::string, int64_t> Store::OutboxCounts() {
  std::map<std::string, int64_t> counts;
  auto statement = db_.Prepare("SELECT status, entries FROM outbox_status_count WHERE entries > 0");
  while (statement.Step()) counts[statement.Text(0)] = statement.Int(1);
  return counts;
}

std::vector<KeptAsideRow> Store::ListKeptAside(std::optional<int> school_year, const std::string& student_id) {
  std::vector<KeptAsideRow> rows;
  auto statement = db_.Prepare(
      "SELECT student_id, date, school_id, period, category, reason, detail FROM kept_aside_event "
      "WHERE (?1 IS NULL OR school_year = ?1) AND (?2 = '' OR student_id = ?2) "
      "ORDER BY reason, student_id, date, period, category");
  statement.Bind(1, school_year ? std::optional<int64_t>(*school_year) : std::nullopt).Bind(2, student_id);
  while (statement.Step()) {
    rows.push_back({statement.Text(0), Date(static_cast<int32_t>(statement.Int(1))), statement.Text(2),
                    statement.Text(3), statement.Text(4), statement.Text(5), statement.Text(6)});
  }
  return rows;
}

std::vector<RejectedRow> Store::ListRejected() {
  std::vector<RejectedRow> rows;
  auto statement = db_.Prepare("SELECT origin, location, reason, raw FROM rejected_record ORDER BY origin, id");
  while (statement.Step()) {
    rows.push_back({statement.Text(0), statement.Text(1), statement.Text(2), statement.Text(3)});
  }
  return rows;
}

std::vector<Session> Store::ListSessions() {
  std::vector<Session> sessions;
  auto statement = db_.Prepare(
      "SELECT school_id, name, school_year, begin_date, end_date, total_instructional_days FROM session "
      "ORDER BY school_id, begin_date");
  while (statement.Step()) {
    Session session;
    session.school_id = statement.Text(0);
    session.name = statement.Text(1);
    session.school_year = statement.Text(2);
    session.begin_date = Date(static_cast<int32_t>(statement.Int(3)));
    session.end_date = Date(static_cast<int32_t>(statement.Int(4)));
    session.total_instructional_days = static_cast<int>(statement.Int(5));
    sessions.push_back(std::move(session));
  }
  return sessions;
}

}  // namespace tiersync
