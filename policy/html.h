// The HTML the auditor's reports share (`policy report`, `policy replay`): escaping and one
// inline style sheet, so every page is self-contained (no scripts, no links out) and alike.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bordergate::policy {

// Escapes the five characters that matter in text and attribute values.
std::string html_escape(std::string_view s);

// "<!DOCTYPE html>...<body>" with the title and the shared style sheet.
std::string html_page_start(std::string_view title);

// One table of a report: an <h2> heading, the note when there is one, then the table, or
// "(none)" without rows. `cell_class` names each cell's CSS class ("" for none).
using HtmlCellClass = std::string (*)(const std::string& cell);
std::string html_table(std::string_view heading, std::string_view note,
                       const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows, HtmlCellClass cell_class);
inline constexpr std::string_view kHtmlPageEnd = "</body></html>\n";

}  // namespace bordergate::policy
