#include "policy/html.h"

namespace bordergate::policy {

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string html_page_start(std::string_view title) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         html_escape(title) +
         "</title>\n<style>\n"
         "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
         "margin-bottom:2em;font-size:0.85em}th,td{border:1px solid #bbb;padding:0.3em 0.5em;"
         "text-align:left;vertical-align:top}th{background:#eee}td.allow{background:#e3f6e3}"
         "td.deny{background:#f9dcdc}td.report{background:#fff4cc}td.quarantine{background:#f3e0f7}"
         "@media print{body{margin:0}}\n</style></head><body>\n";
}

std::string html_table(std::string_view heading, std::string_view note,
                       const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows,
                       HtmlCellClass cell_class) {
  std::string o = "<h2>" + html_escape(heading) + "</h2>\n";
  if (!note.empty()) o += "<p>" + html_escape(note) + "</p>\n";
  if (rows.empty()) return o + "<p>(none)</p>\n";
  o += "<table><thead><tr>";
  for (const auto& h : header) o += "<th>" + html_escape(h) + "</th>";
  o += "</tr></thead><tbody>\n";
  for (const auto& row : rows) {
    o += "<tr>";
    for (const auto& cell : row) {
      const std::string cls = cell_class(cell);
      o += (cls.empty() ? std::string("<td>") : "<td class=\"" + cls + "\">") + html_escape(cell) +
           "</td>";
    }
    o += "</tr>\n";
  }
  return o + "</tbody></table>\n";
}

}  // namespace bordergate::policy
