#include "config/config.h"

#include <yaml-cpp/yaml.h>
#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/digest.h"
#include "rules/notice_template.h"

namespace tiersync {

namespace {

// Thrown inside the loader only, and turned into an Error at LoadConfig's boundary.
struct ConfigError {
  std::string message;
};

// A YAML node with the file it came from and its key path, for error messages.
class Node {
 public:
  Node(YAML::Node node, std::string file, std::string key) : node_(std::move(node)), file_(std::move(file)), key_(std::move(key)) {}

  [[noreturn]] void Fail(const std::string& what) const {
    std::string where = file_;
    if (node_.IsDefined() && node_.Mark().line >= 0) {
      where += ":" + std::to_string(node_.Mark().line + 1) + ":" + std::to_string(node_.Mark().column + 1);
    }
    throw ConfigError{where + ": " + (key_.empty() ? "" : key_ + ": ") + what};
  }

  bool defined() const { return node_.IsDefined() && !node_.IsNull(); }
  bool IsSequence() const { return node_.IsSequence(); }
  const std::string& key() const { return key_; }
  const std::string& file() const { return file_; }

  // Rejects keys other than `allowed`, so a misspelt key is an error, not a silent default.
  void AllowOnly(std::initializer_list<const char*> allowed) const {
    if (!node_.IsMap()) Fail("expected a mapping of keys to values");
    RejectDuplicateKeys();
    for (const auto& item : node_) {
      std::string name = item.first.as<std::string>();
      bool known = false;
      for (const char* key : allowed) known = known || name == key;
      if (!known) {
        std::string list;
        for (const char* key : allowed) list += (list.empty() ? "" : ", ") + std::string(key);
        Node(item.first, file_, Join(name)).Fail("unknown key; expected one of: " + list);
      }
    }
  }

  Node operator[](const std::string& name) const {
    if (defined() && !node_.IsMap()) Fail("expected a mapping of keys to values");
    return Node(defined() ? node_[name] : YAML::Node(), file_, Join(name));
  }

  Node Required(const std::string& name) const {
    Node child = (*this)[name];
    if (!child.defined()) Fail("missing required key '" + name + "'");
    return child;
  }

  std::string Text() const {
    if (!node_.IsScalar()) Fail("expected a text value");
    return node_.Scalar();
  }

  std::string TextOr(const std::string& fallback) const { return defined() ? Text() : fallback; }

  long Integer(long min, long max) const {
    std::string text = Text();
    try {
      size_t used = 0;
      long value = std::stol(text, &used);
      if (used == text.size() && value >= min && value <= max) return value;
    } catch (const std::exception&) {
    }
    Fail("'" + text + "' is not a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }

  long IntegerOr(long fallback, long min, long max) const { return defined() ? Integer(min, max) : fallback; }

  bool Boolean() const {
    std::string text = Text();
    if (text == "true" || text == "yes") return true;
    if (text == "false" || text == "no") return false;
    Fail("'" + text + "' is not true or false");
  }

  DayUnits Decimal(DayUnits max_units) const {
    std::string text = Text();
    auto units = ParseDayUnits(text);
    if (!units || *units > max_units) {
      Fail("'" + text + "' is not a number from 0 to " + FormatDayUnits(max_units) + " with at most 4 decimals");
    }
    return *units;
  }

  std::vector<Node> Items() const {
    if (!node_.IsSequence()) Fail("expected a list");
    std::vector<Node> items;
    for (size_t i = 0; i < node_.size(); ++i) items.emplace_back(node_[i], file_, key_ + "[" + std::to_string(i) + "]");
    return items;
  }

  std::vector<std::pair<std::string, Node>> Entries() const {
    if (!node_.IsMap()) Fail("expected a mapping of keys to values");
    RejectDuplicateKeys();
    std::vector<std::pair<std::string, Node>> entries;
    for (const auto& item : node_) {
      std::string name = item.first.as<std::string>();
      entries.emplace_back(name, Node(item.second, file_, Join(name)));
    }
    return entries;
  }

  // A path relative to the directory of this node's file, made absolute, so that a file's
  // origin name is the same however the configuration's own path was given.
  std::string Path() const {
    std::filesystem::path value = Text();
    if (value.empty()) Fail("is empty; give a file or directory path");
    if (value.is_relative()) value = std::filesystem::path(file_).parent_path() / value;
    std::error_code error;
    std::filesystem::path absolute = std::filesystem::absolute(value, error);
    return (error ? value : absolute).lexically_normal().string();
  }

 private:
  std::string Join(const std::string& name) const { return key_.empty() ? name : key_ + "." + name; }

  // yaml-cpp 0.7 keeps one of two equal keys silently; a repeated key is almost always a
  // paste error, so it is rejected.
  void RejectDuplicateKeys() const {
    std::set<std::string> seen;
    for (const auto& item : node_) {
      std::string name = item.first.as<std::string>();
      if (!seen.insert(name).second) {
        Node(item.first, file_, Join(name)).Fail("key appears twice in the same mapping; keep one");
      }
    }
  }

  YAML::Node node_;
  std::string file_;
  std::string key_;
};

Node LoadYaml(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw ConfigError{path + ": file not found; give the path of a tiersync YAML configuration"};
  }
  try {
    return Node(YAML::LoadFile(path), path, "");
  } catch (const YAML::ParserException& parse_error) {
    throw ConfigError{path + ":" + std::to_string(parse_error.mark.line + 1) + ":" +
                      std::to_string(parse_error.mark.column + 1) + ": invalid YAML: " + parse_error.msg};
  } catch (const YAML::BadFile&) {
    throw ConfigError{path + ": cannot read the file; check its permissions"};
  }
}

AttendanceRules ParseRules(const Node& node) {
  AttendanceRules rules = AttendanceRules::Defaults();
  if (!node.defined()) return rules;
  node.AllowOnly({"version", "min_enrolled_days", "tiers", "periods_per_day", "periods_per_day_by_school",
                  "attendance_codes"});
  rules.version = node.Required("version").Text();
  if (rules.version.empty()) node["version"].Fail("is empty; name this rules version, e.g. 2024-08-01");
  if (auto minimum = node["min_enrolled_days"]; minimum.defined()) {
    rules.min_enrolled_units = minimum.Integer(0, 400) * kUnitsPerDay;
  }

  if (auto tiers = node["tiers"]; tiers.defined()) {
    rules.thresholds.clear();
    int expected_tier = 2;
    for (const auto& item : tiers.Items()) {
      item.AllowOnly({"tier", "from_percent"});
      TierThreshold threshold;
      threshold.tier = static_cast<int>(item.Required("tier").Integer(2, 9));
      if (threshold.tier != expected_tier) {
        item["tier"].Fail("tiers must be listed in order from 2 up; expected tier " + std::to_string(expected_tier));
      }
      threshold.from_percent_units = item.Required("from_percent").Decimal(100 * kUnitsPerDay);
      if (!rules.thresholds.empty() && threshold.from_percent_units <= rules.thresholds.back().from_percent_units) {
        item["from_percent"].Fail("must be above the previous tier's from_percent");
      }
      if (threshold.from_percent_units == 0) item["from_percent"].Fail("must be above 0");
      rules.thresholds.push_back(threshold);
      ++expected_tier;
    }
    if (rules.thresholds.empty()) tiers.Fail("list at least one tier above Tier 1");
  }

  rules.default_periods_per_day = static_cast<int>(node["periods_per_day"].IntegerOr(7, 1, 24));
  if (auto by_school = node["periods_per_day_by_school"]; by_school.defined()) {
    for (const auto& [school, value] : by_school.Entries()) {
      rules.periods_per_day_by_school[school] = static_cast<int>(value.Integer(1, 24));
    }
  }

  if (auto codes = node["attendance_codes"]; codes.defined()) {
    rules.codes.clear();
    for (const auto& [code_name, value] : codes.Entries()) {
      value.AllowOnly({"counts_as", "amount", "use_event_duration"});
      AttendanceCode code;
      std::string counts_as = value.Required("counts_as").Text();
      if (counts_as == "excused") {
        code.bucket = AbsenceBucket::kExcused;
      } else if (counts_as == "unexcused") {
        code.bucket = AbsenceBucket::kUnexcused;
      } else if (counts_as == "not_absent") {
        code.bucket = AbsenceBucket::kNone;
      } else {
        value["counts_as"].Fail("'" + counts_as + "' is not one of: excused, unexcused, not_absent");
      }
      code.default_amount = code.bucket == AbsenceBucket::kNone ? 0 : kUnitsPerDay;
      if (auto amount = value["amount"]; amount.defined()) {
        code.default_amount = amount.Decimal(kUnitsPerDay);
        if (code.bucket == AbsenceBucket::kNone && code.default_amount != 0) {
          amount.Fail("a code that counts_as not_absent must have amount 0");
        }
      }
      code.use_event_duration = value["use_event_duration"].defined() ? value["use_event_duration"].Boolean()
                                                                        : code.bucket != AbsenceBucket::kNone;
      std::string key = NormalizeCode(code_name);
      if (key.empty()) value.Fail("an attendance code name is empty");
      if (!rules.codes.emplace(key, code).second) {
        value.Fail("code '" + code_name + "' is listed twice (codes compare without case and descriptor prefix)");
      }
    }
  }
  return rules;
}

ActionKind ParseActionKind(const Node& node) {
  std::string kind = node.Text();
  if (auto parsed = ActionKindFromName(kind)) return *parsed;
  node.Fail("'" + kind + "' is not one of: task, contact, notice");
}

std::string RoleList() {
  std::string list;
  for (const auto& role : KnownRoles()) list += (list.empty() ? "" : ", ") + role;
  return list;
}

std::string CheckRole(const Node& node) {
  std::string role = node.Text();
  if (std::find(KnownRoles().begin(), KnownRoles().end(), role) == KnownRoles().end()) {
    node.Fail("'" + role + "' is not one of: " + RoleList());
  }
  return role;
}

// A list of text values; a single value counts as a list of one.
std::set<std::string> TextSet(const Node& node) {
  std::set<std::string> values;
  if (!node.defined()) return values;
  if (node.IsSequence()) {
    for (const auto& item : node.Items()) values.insert(item.Text());
  } else {
    values.insert(node.Text());
  }
  if (values.empty()) node.Fail("list at least one value, or leave the key out");
  return values;
}

const char* const kTriggerKeys[] = {"entered_tier",         "left_tier_downward", "consecutive_absences",
                                    "unexcused_in_window",  "unexcused_after_notice", "plan_review",
                                    "task_overdue"};

// Reads a rule's `when`: exactly one trigger key, then any conditions.
void ParseWhen(const Node& when, int max_tier, PlaybookRule& rule) {
  when.AllowOnly({"entered_tier", "left_tier_downward", "consecutive_absences", "unexcused_in_window",
                  "unexcused_after_notice", "plan_review", "task_overdue", "school_level", "grade", "school",
                  "language", "min_days_enrolled", "last_year_tier_at_least"});
  int triggers = 0;
  for (const char* key : kTriggerKeys) triggers += when[key].defined() ? 1 : 0;
  if (triggers != 1) {
    when.Fail("give exactly one trigger: entered_tier, left_tier_downward, consecutive_absences, "
              "unexcused_in_window, unexcused_after_notice, plan_review or task_overdue");
  }

  if (Node node = when["entered_tier"]; node.defined()) {
    rule.trigger = Trigger::kTierEntered;
    rule.tier = static_cast<int>(node.Integer(2, max_tier));
  } else if (Node node = when["left_tier_downward"]; node.defined()) {
    rule.trigger = Trigger::kTierLeftDownward;
    rule.tier = static_cast<int>(node.Integer(2, max_tier));
  } else if (Node node = when["consecutive_absences"]; node.defined()) {
    rule.trigger = Trigger::kConsecutiveAbsences;
    rule.count = static_cast<int>(node.Integer(1, 180));
  } else if (Node node = when["unexcused_in_window"]; node.defined()) {
    node.AllowOnly({"count", "window_days"});
    rule.trigger = Trigger::kUnexcusedInWindow;
    rule.count = static_cast<int>(node.Required("count").Integer(1, 180));
    rule.window_days = static_cast<int>(node.Required("window_days").Integer(1, 366));
    if (rule.count > rule.window_days) node["count"].Fail("cannot exceed window_days");
  } else if (Node node = when["unexcused_after_notice"]; node.defined()) {
    node.AllowOnly({"notice_level", "tier"});
    rule.trigger = Trigger::kUnexcusedAfterNotice;
    rule.notice_level = static_cast<int>(node.Required("notice_level").Integer(1, 9));
    rule.tier = static_cast<int>(node.Required("tier").Integer(2, max_tier));
  } else if (Node node = when["plan_review"]; node.defined()) {
    node.AllowOnly({"tier", "every_weeks"});
    rule.trigger = Trigger::kPlanReview;
    rule.tier = static_cast<int>(node.Required("tier").Integer(2, max_tier));
    rule.every_weeks = static_cast<int>(node.Required("every_weeks").Integer(1, 52));
  } else if (Node node = when["task_overdue"]; node.defined()) {
    node.AllowOnly({"grace_days"});
    rule.trigger = Trigger::kTaskOverdue;
    rule.grace_days = static_cast<int>(node["grace_days"].IntegerOr(0, 0, 180));
  }

  RuleConditions& conditions = rule.conditions;
  conditions.school_levels = TextSet(when["school_level"]);
  for (const auto& level : conditions.school_levels) {
    if (level != "elementary" && level != "middle" && level != "high") {
      when["school_level"].Fail("'" + level + "' is not one of: elementary, middle, high");
    }
  }
  conditions.grades = TextSet(when["grade"]);
  conditions.schools = TextSet(when["school"]);
  conditions.languages = TextSet(when["language"]);
  if (Node node = when["min_days_enrolled"]; node.defined()) {
    conditions.min_days_enrolled = static_cast<int>(node.Integer(0, 400));
  }
  if (Node node = when["last_year_tier_at_least"]; node.defined()) {
    conditions.last_year_tier_at_least = static_cast<int>(node.Integer(1, max_tier));
  }
}

ActionTemplate ParseAction(const Node& node, const PlaybookRule& rule) {
  node.AllowOnly({"id", "kind", "role", "due_in_instructional_days", "due_in_business_days", "title",
                  "notice_template", "notice_level", "basis"});
  ActionTemplate action;
  action.id = node.Required("id").Text();
  if (action.id.empty()) node["id"].Fail("is empty");
  action.kind = ParseActionKind(node.Required("kind"));
  if (rule.trigger == Trigger::kTaskOverdue) {
    if (action.kind != ActionKind::kTask) node["kind"].Fail("a task_overdue rule makes tasks only");
    if (node["role"].defined()) node["role"].Fail("leave role out: the task goes to the next role of `escalation`");
  } else {
    action.role = CheckRole(node.Required("role"));
  }

  if (node["due_in_business_days"].defined()) {
    if (node["due_in_instructional_days"].defined()) {
      node.Fail("give one of due_in_instructional_days or due_in_business_days, not both");
    }
    action.due_in_business_days = static_cast<int>(node["due_in_business_days"].Integer(0, 180));
  } else {
    action.due_in_instructional_days = static_cast<int>(node.Required("due_in_instructional_days").Integer(0, 180));
  }
  action.title = node.Required("title").Text();

  action.notice_template = node["notice_template"].TextOr("");
  if (action.kind == ActionKind::kNotice) {
    if (action.notice_template.empty()) node.Fail("a notice needs notice_template");
    action.notice_level = static_cast<int>(node["notice_level"].IntegerOr(0, 0, 9));
    std::string basis = node["basis"].TextOr("any_absence");
    if (basis == "unexcused") {
      action.basis = NoticeBasis::kUnexcused;
    } else if (basis != "any_absence") {
      node["basis"].Fail("'" + basis + "' is not one of: any_absence, unexcused");
    }
  } else {
    for (const char* key : {"notice_template", "notice_level", "basis"}) {
      if (node[key].defined()) node[key].Fail("only a notice takes this key");
    }
  }
  return action;
}

NoticeSettings ParseNotices(const Node& node) {
  NoticeSettings notices;
  if (!node.defined()) return notices;
  node.AllowOnly({"languages", "fallback_language", "templates"});
  if (Node languages = node["languages"]; languages.defined()) {
    notices.languages.clear();
    for (const auto& item : languages.Items()) {
      std::string language = item.Text();
      if (language.empty()) item.Fail("is empty; give a language code such as en or es");
      if (std::find(notices.languages.begin(), notices.languages.end(), language) != notices.languages.end()) {
        item.Fail("'" + language + "' is listed twice");
      }
      notices.languages.push_back(language);
    }
    if (notices.languages.empty()) languages.Fail("list at least one language");
  }
  notices.fallback_language = node["fallback_language"].TextOr(notices.languages.front());
  if (std::find(notices.languages.begin(), notices.languages.end(), notices.fallback_language) ==
      notices.languages.end()) {
    node["fallback_language"].Fail("'" + notices.fallback_language + "' is not in notices.languages");
  }

  if (Node templates = node["templates"]; templates.defined()) {
    for (const auto& [id, by_language] : templates.Entries()) {
      auto& bodies = notices.templates[id];
      for (const auto& [language, body] : by_language.Entries()) {
        if (std::find(notices.languages.begin(), notices.languages.end(), language) == notices.languages.end()) {
          body.Fail("'" + language + "' is not in notices.languages");
        }
        std::string text = body.Text();
        if (auto status = ValidateNoticeBody(text); !status) body.Fail(status.error().message);
        bodies[language] = text;
      }
      // Load-time check: a family must never receive a notice in a language that was not written.
      for (const auto& language : notices.languages) {
        if (!bodies.count(language)) by_language.Fail("template '" + id + "' has no '" + language + "' text");
      }
    }
  }
  return notices;
}

SafetySettings ParseSafety(const Node& node) {
  SafetySettings safety;
  if (!node.defined()) return safety;
  node.AllowOnly({"excuse_window_days", "staff_approval", "one_notice_per_household", "stale_after_days"});
  safety.excuse_window_days = static_cast<int>(node["excuse_window_days"].IntegerOr(0, 0, 60));
  safety.staff_approval = node["staff_approval"].defined() && node["staff_approval"].Boolean();
  safety.one_notice_per_household =
      node["one_notice_per_household"].defined() && node["one_notice_per_household"].Boolean();
  safety.stale_after_days = static_cast<int>(node["stale_after_days"].IntegerOr(0, 0, 180));
  return safety;
}

std::map<std::string, std::string> ParseAssignees(const Node& node) {
  std::map<std::string, std::string> assignees;
  if (!node.defined()) return assignees;
  for (const auto& [role, value] : node.Entries()) {
    if (std::find(KnownRoles().begin(), KnownRoles().end(), role) == KnownRoles().end()) {
      value.Fail("'" + role + "' is not a role; use one of: " + RoleList());
    }
    assignees[role] = value.Text();
  }
  return assignees;
}

std::map<std::string, SchoolProfile> ParseSchools(const Node& node) {
  std::map<std::string, SchoolProfile> schools;
  if (!node.defined()) return schools;
  for (const auto& [school_id, value] : node.Entries()) {
    value.AllowOnly({"name", "level", "assignees"});
    SchoolProfile school;
    school.name = value["name"].TextOr("");
    school.level = value.Required("level").Text();
    if (school.level != "elementary" && school.level != "middle" && school.level != "high") {
      value["level"].Fail("'" + school.level + "' is not one of: elementary, middle, high");
    }
    school.assignees = ParseAssignees(value["assignees"]);
    schools[school_id] = std::move(school);
  }
  return schools;
}

// Checks what no single key shows: every notice has its template, and the notice levels
// leave no gap, since a level waits for the one below it.
void CheckNotices(const Node& root, const Playbook& playbook) {
  std::set<int> levels;
  for (const auto& rule : playbook.rules) {
    for (const auto& action : rule.actions) {
      if (action.kind != ActionKind::kNotice) continue;
      if (!playbook.notices.templates.count(action.notice_template)) {
        root["notices"]["templates"].Fail("no template '" + action.notice_template + "', which notice '" + action.id +
                                          "' names; add it with a text for each of notices.languages");
      }
      if (action.notice_level > 0) levels.insert(action.notice_level);
    }
  }
  for (int level : levels) {
    if (level > 1 && !levels.count(level - 1)) {
      root["rules"].Fail("a notice has notice_level " + std::to_string(level) + " but none has level " +
                         std::to_string(level - 1) + ", so it could never be sent");
    }
  }
}

Playbook ParsePlaybook(const Node& root, int max_tier) {
  root.AllowOnly({"version", "effective_from", "schools", "default_assignees", "escalation", "safety", "notices",
                  "rules"});
  Playbook playbook;
  playbook.version = root.Required("version").Text();
  if (playbook.version.empty()) root["version"].Fail("is empty; name this playbook version, e.g. 2024.1");
  if (Node node = root["effective_from"]; node.defined()) {
    playbook.effective_from = Date::Parse(node.Text());
    if (!playbook.effective_from) node.Fail("'" + node.Text() + "' is not a date in the form YYYY-MM-DD");
  }
  playbook.schools = ParseSchools(root["schools"]);
  playbook.default_assignees = ParseAssignees(root["default_assignees"]);
  if (Node node = root["escalation"]; node.defined()) {
    for (const auto& item : node.Items()) playbook.escalation.push_back(CheckRole(item));
  }
  playbook.safety = ParseSafety(root["safety"]);
  playbook.notices = ParseNotices(root["notices"]);

  std::set<std::string> action_ids;
  for (const auto& rule_node : root.Required("rules").Items()) {
    rule_node.AllowOnly({"when", "actions"});
    PlaybookRule rule;
    ParseWhen(rule_node.Required("when"), max_tier, rule);
    for (const auto& action_node : rule_node.Required("actions").Items()) {
      ActionTemplate action = ParseAction(action_node, rule);
      if (!action_ids.insert(action.id).second) {
        action_node["id"].Fail("'" + action.id + "' is used twice; each action needs its own id");
      }
      rule.actions.push_back(std::move(action));
    }
    if (rule.actions.empty()) rule_node["actions"].Fail("list at least one action");
    playbook.rules.push_back(std::move(rule));
  }
  CheckNotices(root, playbook);
  return playbook;
}

std::map<std::string, std::string> ParseColumns(const Node& node, CsvKind kind) {
  std::map<std::string, std::string> columns;
  if (!node.defined()) return columns;
  std::set<std::string> allowed(RequiredCsvFields(kind).begin(), RequiredCsvFields(kind).end());
  allowed.insert(OptionalCsvFields(kind).begin(), OptionalCsvFields(kind).end());
  for (const auto& [field, value] : node.Entries()) {
    if (!allowed.count(field)) {
      std::string list;
      for (const auto& name : allowed) list += (list.empty() ? "" : ", ") + name;
      value.Fail("unknown field; this kind of CSV source maps: " + list);
    }
    columns[field] = value.Text();
  }
  return columns;
}

std::vector<std::string> ParsePaths(const Node& source) {
  std::vector<std::string> paths;
  for (const auto& item : source.Required("paths").Items()) {
    std::string path = item.Path();
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) item.Fail("file " + path + " not found");
    paths.push_back(path);
  }
  if (paths.empty()) source["paths"].Fail("list at least one file");
  return paths;
}

synergy::ReportFormat ParseReportFormat(const Node& node) {
  std::string format = node.TextOr("csv");
  if (format == "csv") return synergy::ReportFormat::kCsv;
  if (format == "xml") return synergy::ReportFormat::kXml;
  node.Fail("'" + format + "' is not one of: csv, xml");
}

std::vector<std::pair<std::string, std::string>> ParseOptions(const Node& node) {
  std::vector<std::pair<std::string, std::string>> options;
  if (!node.defined()) return options;
  for (const auto& [property, value] : node.Entries()) options.emplace_back(property, value.Text());
  return options;
}

SynergyReportSourceConfig ParseSynergyReportSource(const Node& node, const std::string& name) {
  node.AllowOnly({"name", "type", "school", "year", "recent_days", "reports"});
  SynergyReportSourceConfig config;
  config.name = name;
  config.school = node["school"].TextOr("");
  config.year = node["year"].TextOr("");
  config.recent_days = static_cast<int>(node["recent_days"].IntegerOr(14, 0, 366));

  Node reports = node.Required("reports");
  const std::vector<std::pair<std::string, SynergyReportKind>> kinds = {
      {"absence_codes", SynergyReportKind::kAbsenceCodes},
      {"calendar", SynergyReportKind::kCalendar},
      {"enrollments", SynergyReportKind::kEnrollments},
      {"daily_attendance", SynergyReportKind::kDailyAttendance},
      {"period_attendance", SynergyReportKind::kPeriodAttendance}};
  reports.AllowOnly({"absence_codes", "calendar", "enrollments", "daily_attendance", "period_attendance"});
  for (const auto& [key, kind] : kinds) {
    Node report_node = reports[key];
    if (!report_node.defined()) continue;
    report_node.AllowOnly({"report_id", "format", "date_format", "columns", "options"});
    SynergyReportConfig report;
    report.kind = kind;
    report.report_id = report_node.Required("report_id").Text();
    if (report.report_id.empty()) report_node["report_id"].Fail("is empty; give the Synergy report id");
    report.format = ParseReportFormat(report_node["format"]);
    std::string date_format = report_node["date_format"].TextOr("us");
    if (date_format == "iso") {
      report.date_format = DateFormat::kIso;
    } else if (date_format == "us") {
      report.date_format = DateFormat::kUs;
    } else {
      report_node["date_format"].Fail("'" + date_format + "' is not one of: iso (YYYY-MM-DD), us (MM/DD/YYYY)");
    }
    std::set<std::string> allowed(RequiredReportFields(kind).begin(), RequiredReportFields(kind).end());
    allowed.insert(OptionalReportFields(kind).begin(), OptionalReportFields(kind).end());
    if (Node columns = report_node["columns"]; columns.defined()) {
      for (const auto& [field, value] : columns.Entries()) {
        if (!allowed.count(field)) {
          std::string list;
          for (const auto& known : allowed) list += (list.empty() ? "" : ", ") + known;
          value.Fail("unknown field; a " + key + " report maps: " + list);
        }
        report.columns[field] = value.Text();
      }
    }
    report.options = ParseOptions(report_node["options"]);
    config.reports.push_back(std::move(report));
  }
  if (config.reports.empty()) reports.Fail("list at least one report");
  return config;
}

SourceConfig ParseSource(const Node& node) {
  std::string type = node.Required("type").Text();
  std::string name = node.Required("name").Text();
  if (name.empty()) node["name"].Fail("is empty");
  if (type == "edfi_xml") {
    node.AllowOnly({"name", "type", "paths"});
    return EdFiXmlSourceConfig{name, ParsePaths(node)};
  }
  if (type == "synergy_report") return ParseSynergyReportSource(node, name);
  if (type != "csv") node["type"].Fail("'" + type + "' is not one of: csv, edfi_xml, synergy_report");

  node.AllowOnly({"name", "type", "kind", "paths", "date_format", "columns"});
  CsvSourceConfig config;
  config.name = name;
  std::string kind = node.Required("kind").Text();
  if (kind == "calendar") {
    config.kind = CsvKind::kCalendar;
  } else if (kind == "enrollments") {
    config.kind = CsvKind::kEnrollments;
  } else if (kind == "attendance") {
    config.kind = CsvKind::kAttendance;
  } else if (kind == "students") {
    config.kind = CsvKind::kStudents;
  } else {
    node["kind"].Fail("'" + kind + "' is not one of: calendar, enrollments, attendance, students");
  }
  std::string format = node["date_format"].TextOr("iso");
  if (format == "iso") {
    config.date_format = DateFormat::kIso;
  } else if (format == "us") {
    config.date_format = DateFormat::kUs;
  } else {
    node["date_format"].Fail("'" + format + "' is not one of: iso (YYYY-MM-DD), us (MM/DD/YYYY)");
  }
  config.columns = ParseColumns(node["columns"], config.kind);
  config.paths = ParsePaths(node);
  return config;
}

ImportTemplate ParseImportTemplate(const Node& xml) {
  ImportTemplate result;
  xml.AllowOnly({"element", "attributes"});
  result.element = xml.Required("element").Text();
  if (result.element.empty()) xml["element"].Fail("is empty; give the ImportData element name");
  result.attributes.clear();
  for (const auto& [attribute, pattern] : xml.Required("attributes").Entries()) {
    std::string text = pattern.Text();
    if (auto status = ValidatePattern(text); !status) pattern.Fail(status.error().message);
    result.attributes.emplace_back(attribute, text);
  }
  return result;
}

SynergySinkConfig ParseSynergySink(const Node& node) {
  node.AllowOnly({"type", "templates", "key_check", "max_uncertain_rounds"});
  SynergySinkConfig config;
  Node templates = node.Required("templates");
  templates.AllowOnly({"task", "contact", "notice"});
  for (const auto& [key, kind] : std::vector<std::pair<std::string, ActionKind>>{
           {"task", ActionKind::kTask}, {"contact", ActionKind::kContact}, {"notice", ActionKind::kNotice}}) {
    Node template_node = templates.Required(key);
    ImportTemplate import_template = ParseImportTemplate(template_node);
    if (auto status = ValidateKeyedTemplate(import_template); !status) template_node.Fail(status.error().message);
    config.templates[kind] = std::move(import_template);
  }
  Node key_check = node.Required("key_check");
  key_check.AllowOnly({"report_id", "format", "key_column", "options", "before_every_send"});
  config.key_check.report_id = key_check.Required("report_id").Text();
  config.key_check.format = ParseReportFormat(key_check["format"]);
  config.key_check.key_column = key_check["key_column"].TextOr("IDEMPOTENCY_KEY");
  config.key_check.options = ParseOptions(key_check["options"]);
  if (key_check["before_every_send"].defined()) {
    config.check_before_every_send = key_check["before_every_send"].Boolean();
  }
  config.max_uncertain_rounds = static_cast<int>(node["max_uncertain_rounds"].IntegerOr(4, 1, 20));
  return config;
}

SynergyConnectionConfig ParseSynergyConnection(const Node& node) {
  node.AllowOnly({"url", "user", "password_file", "protocol", "tls", "connect_timeout_ms", "request_timeout_ms",
                  "min_login_interval_ms", "retry", "poll_interval_ms", "report_timeout_seconds"});
  SynergyConnectionConfig config;
  config.http.url = node.Required("url").Text();
  config.session.credentials.user_id = node.Required("user").Text();
  std::string password_path = node.Required("password_file").Path();
  auto password = ReadFile(password_path);
  if (!password) node["password_file"].Fail(password.error().message);
  std::string secret = *password;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) node["password_file"].Fail("file " + password_path + " is empty; put the Synergy password in it");
  config.session.credentials.password = secret;

  std::string protocol = node["protocol"].TextOr("form");
  if (protocol == "form") {
    config.session.protocol = synergy::Protocol::kForm;
  } else if (protocol == "soap") {
    config.session.protocol = synergy::Protocol::kSoap;
  } else {
    node["protocol"].Fail("'" + protocol + "' is not one of: form, soap");
  }

  if (Node tls = node["tls"]; tls.defined()) {
    tls.AllowOnly({"ca_file", "insecure_skip_verify"});
    if (tls["ca_file"].defined()) {
      config.http.tls.ca_file = tls["ca_file"].Path();
      std::error_code error;
      if (!std::filesystem::is_regular_file(config.http.tls.ca_file, error)) {
        tls["ca_file"].Fail("file " + config.http.tls.ca_file + " not found; give a PEM file of trusted CAs");
      }
    }
    if (tls["insecure_skip_verify"].defined()) config.http.tls.verify = !tls["insecure_skip_verify"].Boolean();
  }
  config.http.connect_timeout = std::chrono::milliseconds(node["connect_timeout_ms"].IntegerOr(10000, 1, 600000));
  config.http.request_timeout = std::chrono::milliseconds(node["request_timeout_ms"].IntegerOr(120000, 1, 3600000));
  config.session.min_login_interval =
      std::chrono::milliseconds(node["min_login_interval_ms"].IntegerOr(3000, 0, 600000));
  if (Node retry = node["retry"]; retry.defined()) {
    retry.AllowOnly({"max_attempts", "base_ms", "cap_ms"});
    config.session.retry.max_attempts = static_cast<int>(retry["max_attempts"].IntegerOr(5, 1, 100));
    config.session.retry.base = std::chrono::milliseconds(retry["base_ms"].IntegerOr(500, 0, 3600000));
    config.session.retry.cap = std::chrono::milliseconds(retry["cap_ms"].IntegerOr(30000, 0, 3600000));
    if (config.session.retry.cap < config.session.retry.base) retry["cap_ms"].Fail("must be at least base_ms");
  }
  config.session.poll_interval = std::chrono::milliseconds(node["poll_interval_ms"].IntegerOr(1000, 0, 600000));
  config.session.report_timeout = std::chrono::seconds(node["report_timeout_seconds"].IntegerOr(600, 1, 86400));
  return config;
}

FileSinkConfig ParseSink(const Node& node) {
  node.AllowOnly({"type", "directory", "formats", "xml"});
  std::string type = node.Required("type").Text();
  if (type != "file") node["type"].Fail("'" + type + "' is not a known sink type; use: file or synergy");
  FileSinkConfig config;
  config.directory = node.Required("directory").Path();
  if (auto formats = node["formats"]; formats.defined()) {
    config.write_csv = false;
    config.write_xml = false;
    for (const auto& item : formats.Items()) {
      std::string format = item.Text();
      if (format == "csv") {
        config.write_csv = true;
      } else if (format == "xml") {
        config.write_xml = true;
      } else {
        item.Fail("'" + format + "' is not one of: csv, xml");
      }
    }
    if (!config.write_csv && !config.write_xml) formats.Fail("list at least one of: csv, xml");
  }
  if (auto xml = node["xml"]; xml.defined()) {
    xml.AllowOnly({"element", "attributes"});
    config.xml_template.element = xml.Required("element").Text();
    config.xml_template.attributes.clear();
    for (const auto& [attribute, pattern] : xml.Required("attributes").Entries()) {
      std::string text = pattern.Text();
      if (auto status = ValidatePattern(text); !status) pattern.Fail(status.error().message);
      config.xml_template.attributes.emplace_back(attribute, text);
    }
  }
  return config;
}

// Minutes after midnight from "HH:MM" (00:00 to 24:00).
int ParseClockTime(const Node& node) {
  std::string text = node.Text();
  int hours = -1;
  int minutes = -1;
  char colon = 0;
  std::istringstream in(text);
  in >> hours >> colon >> minutes;
  bool valid = in && in.peek() == std::char_traits<char>::eof() && colon == ':' && text.size() == 5 &&
               hours >= 0 && hours <= 24 && minutes >= 0 && minutes < 60 && (hours < 24 || minutes == 0);
  if (!valid) node.Fail("'" + text + "' is not a time of day in the form HH:MM, e.g. 07:30");
  return hours * 60 + minutes;
}

ScheduleConfig ParseSchedule(const Node& node) {
  ScheduleConfig schedule;
  if (!node.defined()) return schedule;
  node.AllowOnly({"interval_minutes", "school_day_start", "school_day_end", "nightly_reconciliation",
                  "run_on_closed_days"});
  schedule.interval_minutes = static_cast<int>(node["interval_minutes"].IntegerOr(30, 1, 24 * 60));
  if (auto start = node["school_day_start"]; start.defined()) schedule.school_day_start_minute = ParseClockTime(start);
  if (auto end = node["school_day_end"]; end.defined()) schedule.school_day_end_minute = ParseClockTime(end);
  if (schedule.school_day_end_minute <= schedule.school_day_start_minute) {
    node["school_day_end"].Fail("must be later than school_day_start");
  }
  if (auto nightly = node["nightly_reconciliation"]; nightly.defined()) {
    schedule.nightly_minute = ParseClockTime(nightly);
    if (schedule.nightly_minute == 24 * 60) nightly.Fail("use 00:00 for midnight");
  }
  if (auto closed = node["run_on_closed_days"]; closed.defined()) schedule.run_on_closed_days = closed.Boolean();
  return schedule;
}

PushConfig ParsePush(const Node& node) {
  PushConfig push;
  if (!node.defined()) return push;
  node.AllowOnly({"token_file", "token_credential", "date_format", "max_body_bytes"});
  if (node["token_file"].defined() && node["token_credential"].defined()) {
    node.Fail("give token_file or token_credential, not both");
  }
  if (auto file = node["token_file"]; file.defined()) push.token_file = file.Path();
  if (auto credential = node["token_credential"]; credential.defined()) {
    // systemd's LoadCredential= places each credential in $CREDENTIALS_DIRECTORY.
    const char* directory = std::getenv("CREDENTIALS_DIRECTORY");
    if (directory == nullptr || *directory == 0) {
      credential.Fail("CREDENTIALS_DIRECTORY is not set; run under systemd with LoadCredential=" +
                      credential.Text() + ":/path/to/token, or use token_file");
    }
    push.token_file = std::string(directory) + "/" + credential.Text();
  }
  if (!push.token_file.empty()) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(push.token_file, error)) {
      node.Fail("token file " + push.token_file + " not found; create it with the bearer token on one line");
    }
  }
  std::string format = node["date_format"].TextOr("iso");
  if (format == "us") {
    push.date_format = DateFormat::kUs;
  } else if (format != "iso") {
    node["date_format"].Fail("'" + format + "' is not one of: iso (YYYY-MM-DD), us (MM/DD/YYYY)");
  }
  push.max_body_bytes = static_cast<size_t>(node["max_body_bytes"].IntegerOr(16L << 20, 1024, 1L << 30));
  return push;
}

ServiceConfig ParseService(const Node& node) {
  ServiceConfig service;
  if (!node.defined()) return service;
  node.AllowOnly({"listen_address", "port", "port_file", "schedule", "push"});
  service.listen_address = node["listen_address"].TextOr("127.0.0.1");
  unsigned char address[sizeof(in6_addr)];
  if (inet_pton(AF_INET, service.listen_address.c_str(), address) != 1 &&
      inet_pton(AF_INET6, service.listen_address.c_str(), address) != 1) {
    node["listen_address"].Fail("'" + service.listen_address + "' is not an IPv4 or IPv6 address; use 127.0.0.1");
  }
  service.port = static_cast<int>(node["port"].IntegerOr(8086, 0, 65535));
  if (auto port_file = node["port_file"]; port_file.defined()) service.port_file = port_file.Path();
  service.schedule = ParseSchedule(node["schedule"]);
  service.push = ParsePush(node["push"]);
  return service;
}

// A stable text form of everything that decides tiers and actions.
std::string Fingerprint(const AttendanceRules& rules, const Playbook& playbook) {
  std::ostringstream out;
  out << "rules " << rules.version << " min " << rules.min_enrolled_units << " periods " << rules.default_periods_per_day;
  for (const auto& [school, periods] : rules.periods_per_day_by_school) out << " " << school << "=" << periods;
  for (const auto& threshold : rules.thresholds) out << " tier" << threshold.tier << "@" << threshold.from_percent_units;
  for (const auto& [code, value] : rules.codes) {
    out << " code[" << code << "]" << BucketName(value.bucket) << "/" << value.default_amount << "/"
        << value.use_event_duration;
  }
  out << " playbook " << playbook.version;
  for (const auto& [school_id, school] : playbook.schools) {
    out << " school[" << school_id << "|" << school.name << "|" << school.level;
    for (const auto& [role, person] : school.assignees) out << "|" << role << "=" << person;
    out << "]";
  }
  for (const auto& rule : playbook.rules) {
    out << " rule " << TriggerName(rule.trigger) << rule.tier;
    for (const auto& action : rule.actions) {
      out << " action[" << action.id << "|" << ActionKindName(action.kind) << "|" << action.role << "|"
          << action.due_in_instructional_days << "|" << action.title << "|" << action.notice_template << "]";
    }
  }
  return Sha256Hex(out.str());
}

std::string FileDigest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return Sha256Hex(text.str());
}

Playbook LoadPlaybookOrThrow(const std::string& path, int max_tier) {
  Node root = LoadYaml(path);
  return ParsePlaybook(root, max_tier);
}

}  // namespace

Result<Playbook> LoadPlaybook(const std::string& path) {
  try {
    return LoadPlaybookOrThrow(path, 9);
  } catch (const ConfigError& error) {
    return Error{error.message};
  } catch (const YAML::Exception& error) {
    return Error{path + ": " + error.what()};
  }
}

Result<Config> LoadConfig(const std::string& path) {
  try {
    Node root = LoadYaml(path);
    root.AllowOnly({"district", "store", "school_year", "rules", "playbook", "schools", "synergy", "sources", "sink",
                    "delivery", "service"});
    Config config;
    config.path = path;

    Node district = root["district"];
    if (district.defined()) {
      district.AllowOnly({"name", "time_zone"});
      config.district_name = district["name"].TextOr("");
      config.time_zone = district["time_zone"].TextOr("UTC");
      std::error_code error;
      if (config.time_zone != "UTC" &&
          !std::filesystem::exists("/usr/share/zoneinfo/" + config.time_zone, error)) {
        district["time_zone"].Fail("'" + config.time_zone +
                                   "' is not a time zone in /usr/share/zoneinfo; use a name such as America/Denver");
      }
    }

    Node store = root.Required("store");
    store.AllowOnly({"path"});
    config.store_path = store.Required("path").Path();

    if (Node year = root["school_year"]; year.defined()) {
      year.AllowOnly({"starts"});
      std::string starts = year.Required("starts").Text();
      auto date = Date::Parse("2000-" + starts);
      if (!date) year["starts"].Fail("'" + starts + "' is not a month and day in the form MM-DD, e.g. 07-01");
      config.engine.year_start = {date->month(), date->day()};
    }

    config.engine.rules = ParseRules(root["rules"]);
    int max_tier = config.engine.rules.thresholds.back().tier;
    config.playbook_path = root.Required("playbook").Path();
    try {
      config.engine.playbook = LoadPlaybookOrThrow(config.playbook_path, max_tier);
    } catch (const ConfigError& error) {
      throw ConfigError{error.message + " (playbook named by " + path + ")"};
    }
    // Schools listed here add to (and override) the playbook's: they are district facts.
    for (auto& [school_id, school] : ParseSchools(root["schools"])) {
      config.engine.playbook.schools[school_id] = std::move(school);
    }
    config.engine.rules.version += "+" + config.engine.playbook.version;
    // The playbook file's digest covers every playbook key, including notice texts.
    config.engine.rules_fingerprint =
        Sha256Hex(Fingerprint(config.engine.rules, config.engine.playbook) + "|" + FileDigest(config.playbook_path));

    if (Node synergy = root["synergy"]; synergy.defined()) config.synergy = ParseSynergyConnection(synergy);

    std::set<std::string> names;
    for (const auto& item : root.Required("sources").Items()) {
      SourceConfig source = ParseSource(item);
      std::string name = std::visit([](const auto& value) { return value.name; }, source);
      if (!names.insert(name).second) item["name"].Fail("'" + name + "' names two sources; names must be unique");
      if (std::holds_alternative<SynergyReportSourceConfig>(source) && !config.synergy) {
        item["type"].Fail("a synergy_report source needs the top-level synergy section (url, user, password_file)");
      }
      config.sources.push_back(std::move(source));
    }
    if (config.sources.empty()) root["sources"].Fail("list at least one source");

    if (Node sink = root["sink"]; sink.defined()) {
      if (sink["type"].defined() && sink["type"].Text() == "synergy") {
        if (!config.synergy) sink["type"].Fail("a synergy sink needs the top-level synergy section");
        config.synergy_sink = ParseSynergySink(sink);
      } else {
        config.file_sink = ParseSink(sink);
      }
    }

    if (Node delivery = root["delivery"]; delivery.defined()) {
      delivery.AllowOnly({"batch_size", "max_attempts", "retry_base_seconds", "retry_cap_seconds"});
      config.delivery.batch_size = static_cast<size_t>(delivery["batch_size"].IntegerOr(200, 1, 10000));
      config.delivery.max_attempts = static_cast<int>(delivery["max_attempts"].IntegerOr(8, 1, 100));
      config.delivery.retry_base_seconds = static_cast<int>(delivery["retry_base_seconds"].IntegerOr(30, 1, 86400));
      config.delivery.retry_cap_seconds =
          static_cast<int>(delivery["retry_cap_seconds"].IntegerOr(3600, 1, 7 * 86400));
      if (config.delivery.retry_cap_seconds < config.delivery.retry_base_seconds) {
        delivery["retry_cap_seconds"].Fail("must be at least retry_base_seconds");
      }
    }
    config.service = ParseService(root["service"]);
    return config;
  } catch (const ConfigError& error) {
    return Error{error.message};
  } catch (const YAML::Exception& error) {
    return Error{path + ": " + error.what()};
  }
}

std::unique_ptr<Source> MakeSource(const SourceConfig& config, synergy::SynergyClient* client,
                                   const SynergyReadPlan& plan) {
  if (const auto* csv = std::get_if<CsvSourceConfig>(&config)) return std::make_unique<CsvSource>(*csv);
  if (const auto* report = std::get_if<SynergyReportSourceConfig>(&config)) {
    if (client == nullptr) throw std::logic_error("MakeSource: a synergy_report source needs a Synergy client");
    return std::make_unique<SynergyReportSource>(*report, *client, plan);
  }
  return std::make_unique<EdFiXmlSource>(std::get<EdFiXmlSourceConfig>(config));
}

}  // namespace tiersync
