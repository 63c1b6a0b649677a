// Text and JSON renderings of a policy load (see check_report.h).
#include "policy/check_report.h"

#include <nlohmann/json.hpp>
#include <sstream>

namespace bordergate::policy {

std::string check_text(const std::string& file, const LoadOutput& out, const std::string& sha256) {
  std::ostringstream o;
  for (const Diagnostic& d : out.diagnostics) o << d.to_string() << "\n";
  o << file << ": " << out.error_count() << " error(s), " << out.warning_count() << " warning(s)";
  if (out.ok()) {
    o << "; " << out.policy->federations.size() << " federation(s), " << out.policy->rules.size()
      << " rule(s), " << out.policy->settings.size() << " settings entr(y/ies)";
  }
  o << "\n";
  if (!sha256.empty()) o << "sha256 " << sha256 << "\n";
  return o.str();
}

std::string check_json(const std::string& file, const LoadOutput& out, const std::string& sha256) {
  using json = nlohmann::ordered_json;  // keys in the order written
  json diagnostics = json::array();
  for (const Diagnostic& d : out.diagnostics) {
    diagnostics.push_back(
        {{"file", d.location.file},
         {"line", d.location.line},
         {"column", d.location.column},
         {"severity", d.severity == Diagnostic::Severity::error ? "error" : "warning"},
         {"code", d.code},
         {"message", d.message}});
  }
  json j = {{"file", file},
            {"sha256", sha256.empty() ? json(nullptr) : json(sha256)},
            {"valid", out.ok()},
            {"errors", out.error_count()},
            {"warnings", out.warning_count()},
            {"diagnostics", diagnostics},
            {"federations", nullptr},
            {"rules", nullptr},
            {"settings", nullptr}};
  if (out.ok()) {
    j["federations"] = out.policy->federations.size();
    j["rules"] = out.policy->rules.size();
    j["settings"] = out.policy->settings.size();
  }
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace bordergate::policy
