#include "gateway/audit/audit_verify.h"

#include <fstream>

namespace bordergate::audit {

bool ChainVerifier::fail(std::string problem, std::string detail, std::uint64_t seq) {
  if (broken_) return false;
  broken_ = true;
  report_.file = file_;
  report_.line = line_no_;
  report_.seq = seq;
  report_.problem = std::move(problem);
  report_.detail = std::move(detail);
  return false;
}

void ChainVerifier::begin_file(std::string name) {
  file_ = std::move(name);
  line_no_ = 0;
}

bool ChainVerifier::add_record(std::string_view line, const Result<ChainFields>& f) {
  if (broken_) return false;
  ++line_no_;
  if (!f) {
    if (pending_torn_) return fail("not_json", pending_torn_detail_);
    // Maybe a line torn by a crash: acceptable only when the next record is
    // a recovery record naming exactly this many bytes.
    pending_torn_ = true;
    pending_torn_bytes_ = line.size();
    pending_torn_line_ = line_no_;
    pending_torn_detail_ = f.error().message;
    return true;
  }
  if (pending_torn_) {
    const bool recovered = f->type == "recovery" && f->torn_bytes &&
                           *f->torn_bytes == static_cast<std::int64_t>(pending_torn_bytes_);
    if (!recovered) {
      line_no_ = pending_torn_line_;
      return fail(pending_torn_detail_.rfind("not a JSON", 0) == 0 ? "not_json" : "bad_record",
                  pending_torn_detail_);
    }
    report_.notes.push_back(file_ + ":" + std::to_string(pending_torn_line_) + ": " +
                            std::to_string(pending_torn_bytes_) +
                            " bytes of a record torn by a crash (recovered at seq " +
                            std::to_string(f->seq) + ")");
    pending_torn_ = false;
  }
  if (!started_) {
    started_ = true;
    report_.first_seq = f->seq;
    report_.anchor_prev = f->prev;
    if (f->seq == 0 || options_.require_genesis) {
      if (f->seq != 0 || f->type != "chain_start" || f->prev != kGenesisPrev) {
        return fail("bad_genesis",
                    "the chain does not start with a seq 0 chain_start record whose prev is 64 "
                    "zeros",
                    f->seq);
      }
    }
  } else {
    if (f->seq != head_.next_seq) {
      std::string what = f->seq > head_.next_seq
                             ? std::to_string(f->seq - head_.next_seq) + " record(s) missing"
                             : "records reordered or repeated";
      return fail("seq_mismatch",
                  "expected seq " + std::to_string(head_.next_seq) + ", found " +
                      std::to_string(f->seq) + " (" + what + ")",
                  f->seq);
    }
    if (f->prev != head_.last_hash) {
      return fail("prev_mismatch",
                  "prev does not match the SHA-256 of the previous line: that line was "
                  "altered, or this one was",
                  f->seq);
    }
  }
  if (f->seq == 0 && report_.records > 0) {
    return fail("bad_genesis", "a second chain_start inside the chain", 0);
  }
  if (f->type == "unclean_shutdown") {
    report_.notes.push_back(
        file_ + ":" + std::to_string(line_no_) + ": seq " + std::to_string(f->seq) +
        ": a possible gap: " +
        (f->note.empty() ? std::string("the previous writer did not close") : f->note));
  }
  if (f->type == "records_dropped") {
    report_.notes.push_back(
        file_ + ":" + std::to_string(line_no_) + ": seq " + std::to_string(f->seq) + ": a gap: " +
        (f->note.empty() ? std::string("the writer reports records dropped") : f->note));
  }
  note_policies(*f);
  head_.next_seq = f->seq + 1;
  head_.last_hash = sha256_hex(line);
  if (!report_.expected_head_found && !options_.expect_head.empty() &&
      head_.last_hash == options_.expect_head) {
    report_.expected_head_found = true;
    report_.expected_head_seq = f->seq;
  }
  ++report_.records;
  report_.last_seq = f->seq;
  return true;
}

void ChainVerifier::note_policies(const ChainFields& f) {
  PolicySummary& p = report_.policies;
  const bool in_range = options_.range.contains(f.seq, f.time);
  if (in_range && !range_started_) {
    range_started_ = true;
    p.in_force_at_start = last_loaded_;
  }
  if (in_range) ++p.records_in_range;
  if (f.type == "policy_load") {
    PolicyLoad load{f.seq,     f.time,  f.action, f.policy_sha256, f.policy_file, f.policy_revision,
                    f.trigger, f.actor, f.reason, f.note};
    if (in_range) p.loads.push_back(load);
    if (load.result == "loaded") {
      last_loaded_ = load;
      if (!load.sha256.empty()) loads_by_digest_[load.sha256] = load;
    }
    return;
  }
  if (f.type != "decision" || !in_range) return;
  if (f.policy_sha256.empty()) {
    ++p.decisions_without_policy;
    return;
  }
  auto [it, fresh] = decisions_index_.try_emplace(f.policy_sha256, p.decisions.size());
  if (fresh) {
    PolicyDecisions d;
    d.sha256 = f.policy_sha256;
    d.first_seq = f.seq;
    if (auto load = loads_by_digest_.find(f.policy_sha256); load != loads_by_digest_.end())
      d.loaded_by = load->second;
    p.decisions.push_back(std::move(d));
  }
  PolicyDecisions& d = p.decisions[it->second];
  ++d.decisions;
  d.last_seq = f.seq;
}

bool ChainVerifier::end_file(std::string_view trailing) {
  if (broken_) return false;
  if (!trailing.empty()) {
    ++line_no_;
    return fail("truncated", "the file ends in the middle of a record (" +
                                 std::to_string(trailing.size()) + " bytes without a newline)");
  }
  if (pending_torn_) {
    line_no_ = pending_torn_line_;
    pending_torn_ = false;
    return fail("not_json", pending_torn_detail_);
  }
  return true;
}

VerifyReport ChainVerifier::finish() {
  if (!broken_ && report_.records == 0) {
    fail("empty", "no audit records");
  }
  // The chain verified up to here, so a record with the expected head's hash means every record
  // up to it is the one recorded then; records after it were appended since.
  if (!broken_ && !options_.expect_head.empty() && !report_.expected_head_found) {
    fail("head_mismatch",
         "no record of the chain has the expected head: records up to it were removed (the "
         "chain ends at seq " +
             std::to_string(report_.last_seq) + " before it) or that record was altered",
         report_.last_seq);
  }
  report_.intact = !broken_;
  report_.head = head_.last_hash;
  return report_;
}

VerifyReport verify_files(const std::vector<std::string>& paths, const VerifyOptions& options) {
  ChainVerifier v(options);
  for (const std::string& path : paths) {
    v.begin_file(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      VerifyReport r = v.finish();
      r.intact = false;
      r.file = path;
      r.line = 0;
      r.problem = "unreadable";
      r.detail = "cannot open the file";
      return r;
    }
    std::string line;
    bool ok = true;
    bool ended = false;
    while (ok && std::getline(in, line)) {
      if (in.eof()) {  // the last line had no newline: a torn or truncated record
        ok = v.end_file(line);
        ended = true;
        break;
      }
      ok = v.add_line(line);
    }
    if (ok && !ended) ok = v.end_file({});
    if (!ok) break;
  }
  return v.finish();
}

}  // namespace bordergate::audit
