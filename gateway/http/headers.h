// The header rules of a reverse proxy: which fields are hop-by-hop and are
// dropped, which the gateway sets itself (X-Forwarded-For/-Proto, framing),
// and how the request and response heads are written on the other side.
// Everything else, Host and every Authorization line included, passes
// through byte for byte and in order.
#pragma once

#include <string>
#include <string_view>

#include "gateway/http/message.h"

namespace bordergate {

// Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
// Upgrade, and any field named in a Connection header of the same message.
bool is_hop_by_hop(std::string_view name, const HeaderList& headers);

// Appends the request line and head sent to Core. The body is the buffered
// request body; framing is always a Content-Length the gateway computed.
// Incoming X-Forwarded-For, X-Forwarded-Proto and Forwarded are dropped (an
// outside client must not choose what Core believes about its address).
void append_upstream_request_head(std::string& out, const HttpRequest& request,
                                  std::string_view client_ip, std::string_view fallback_host);

enum class BodyFraming { none, content_length, chunked, close_delimited };

// The framing towards the client for a response from Core.
BodyFraming downstream_framing(const HttpResponseHead& head, int client_version_minor);

// Appends the status line and head sent to the client.
void append_downstream_response_head(std::string& out, const HttpResponseHead& head,
                                     BodyFraming framing, bool close_connection);

}  // namespace bordergate
