#include "gateway/outbound/connect_answer.h"

#include "gateway/http/error_response.h"

namespace bordergate::outbound {
namespace {

std::string response_head(int status, std::string_view phrase, std::string_view extra_header,
                          std::string_view body, AnswerTo request) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(phrase) + "\r\n";
  if (!extra_header.empty()) out += std::string(extra_header) + "\r\n";
  if (status == 200) return out + "\r\n";  // tunnel established: no body, no length
  out += "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n";
  if (request != AnswerTo::head) out += body;  // a HEAD's answer has no body
  return out;
}

ConnectAnswer refuse(int status, std::string_view phrase, std::string_view rule_id,
                     std::string_view reason, std::string_view errcode, AnswerTo request,
                     std::string_view extra_header = {}) {
  ConnectAnswer a;
  a.status = status;
  a.rule_id = std::string(rule_id);
  a.reason = reason;
  // reason is snake_case from static storage: safe to put into JSON without escaping.
  const std::string body =
      "{\"errcode\":\"" + std::string(errcode) + "\",\"error\":\"" + std::string(reason) + "\"}";
  a.response = response_head(status, phrase, extra_header, body, request);
  return a;
}

}  // namespace

ConnectAnswer answer_connect(const ConnectHead& head, const ProxyRules& rules) {
  const AnswerTo to = answer_to(head.method);
  if (head.method != "CONNECT") {
    const bool absolute_form = head.target.find("://") != std::string::npos;
    if (absolute_form) {
      return refuse(403, "Forbidden", "default", "plain_http_proxy_refused", "M_FORBIDDEN", to);
    }
    return refuse(405, "Method Not Allowed", "default", "method_not_connect", "M_UNRECOGNIZED", to,
                  "Allow: CONNECT");
  }
  const auto auth = head.values("proxy-authorization");
  const std::string challenge = "Proxy-Authenticate: " + std::string(kProxyAuthenticateChallenge);
  if (auth.empty()) {
    return refuse(407, "Proxy Authentication Required", "proxy_auth", "proxy_credentials_missing",
                  "M_UNAUTHORIZED", to, challenge);
  }
  if (auth.size() != 1 || !rules.credentials->accepts(auth.front())) {
    return refuse(407, "Proxy Authentication Required", "proxy_auth", "proxy_credentials_invalid",
                  "M_UNAUTHORIZED", to, challenge);
  }
  auto target = parse_connect_target(head.target);
  if (!target) {
    return refuse(400, "Bad Request", "default", "connect_target_invalid", "M_UNKNOWN", to);
  }
  ConnectDecision decision = admit_connect(*rules.policy, *rules.egress, *rules.guard, *target);
  if (!decision.allowed() && decision.reason == "destination_in_no_federation" &&
      !target->name.is_ip_literal() && rules.delegation != nullptr) {
    if (auto pattern = rules.delegation->match(target->name.host)) {
      decision.kind = TunnelKind::kPendingDelegation;
      decision.rule_id = "delegation:" + *pattern;
      decision.reason = "pending_delegation";
    }
  }
  ConnectAnswer a;
  if (!decision.allowed()) {
    a = refuse(403, "Forbidden", decision.rule_id, decision.reason, "M_FORBIDDEN", to);
  } else {
    a.status = 200;
    a.reason = decision.reason;
    a.response = response_head(200, "Connection established", {}, {}, AnswerTo::get_or_other);
  }
  a.target = std::move(*target);
  a.decision = decision;
  a.rule_id = decision.rule_id;
  return a;
}

}  // namespace bordergate::outbound
