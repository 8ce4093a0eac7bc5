#pragma once

// Notice templates: plain text with {placeholder} fields, one body per language.

#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace tiersync {

// The placeholders a notice body may use.
const std::vector<std::string>& NoticePlaceholders();

// Checks that every {placeholder} in `body` is known and every brace is closed.
Status ValidateNoticeBody(const std::string& body);

// Replaces each {placeholder} with its value; unknown ones were rejected at load time.
std::string RenderNotice(const std::string& body, const std::map<std::string, std::string>& values);

}  // namespace tiersync
