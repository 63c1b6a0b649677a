// The HTML the auditor's reports share (`policy report`, `policy replay`): escaping and one
// inline style sheet, so every page is self-contained (no scripts, no links out) and alike.
#pragma once

#include <string>
#include <string_view>

namespace bordergate::policy {

// Escapes the five characters that matter in text and attribute values.
std::string html_escape(std::string_view s);

// "<!DOCTYPE html>...<body>" with the title and the shared style sheet.
std::string html_page_start(std::string_view title);
inline constexpr std::string_view kHtmlPageEnd = "</body></html>\n";

}  // namespace bordergate::policy
