// The check of a held answer before its receiver sees it (outbound::check_response): what an
// external server answered a federation request of the Core (docs/outbound.md, "Responses"), or
// what the Core answered a peer when the answer carries events (docs/inbound.md, "Events in the
// Core's answers"). The job owns everything the check reads; it picks the loop or the worker's
// thread pool, and makes the key round trip when keys are missing (external answers only). Part
// of the check_answer phase (pipeline.h).
#pragma once

#include "gateway/proxy/request_context.h"

namespace bordergate {

// Starts the check of ctx's held answer (ctx.held_head, ctx.answer_body). True: the verdict is
// in ctx.answer_verdict already (small answers, checked on the loop). False: it arrives later,
// on the loop, and ctx.resume() is called then, never after the request ended. Answers of
// at least 16 KiB are checked on the thread pool (ctx.offload): a 10,000-member send_join costs
// about a second of CPU, and the worker's other connections go on meanwhile.
bool start_answer_check(RequestContext& ctx);

}  // namespace bordergate
