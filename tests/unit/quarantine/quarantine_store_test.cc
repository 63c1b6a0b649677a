// The quarantine store: exact bytes in and out, idempotent retries, survival
// across reopen, filters, the status machine, size limits and metrics.
#include "gateway/quarantine/quarantine_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "gateway/quarantine/core_release.h"
#include "gateway/quarantine/quarantine_metrics.h"
#include "tests/unit/audit/test_files.h"

namespace bordergate::quarantine {
namespace {

using testing::ScratchDir;

HeldRequest transaction(const std::string& origin, const std::string& txn) {
  HeldRequest r;
  r.origin = origin;
  r.txn_id = txn;
  r.destination = "core.example";
  r.remote_addr = "192.0.2.7";
  r.method = "PUT";
  r.target = "/_matrix/federation/v1/send/" + txn;
  // Odd but legal bytes: case, spacing inside values, repeated fields, order.
  r.headers = {{"Host", "core.example"},
               {"authorization", "X-Matrix origin=\"" + origin + "\",key=\"ed25519:a\",sig=\"x\""},
               {"Authorization", "X-Matrix origin=\"" + origin + "\",key=\"ed25519:b\",sig=\"y\""},
               {"Content-Type", "application/json"},
               {"X-Odd", std::string("a\x80\xff  b")},
               {"Content-Length", "30"}};
  static constexpr char kBody[] = "{\"pdus\":[],\"edus\":[],\"x\":\"\0\xff\"}";
  r.body = std::string(kBody, sizeof kBody - 1);
  r.rule_id = "content.no-files";
  r.reason = "event_type_denied";
  r.findings = "$ev1: m.room.message msgtype m.file denied";
  r.answer_body = "{\"pdus\":{\"$ev1\":{\"error\":\"quarantined\"}}}";
  return r;
}

std::unique_ptr<QuarantineStore> open_store(const std::string& path, std::uint64_t max = 0) {
  Result<std::unique_ptr<QuarantineStore>> s = QuarantineStore::open(path, max);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(QuarantineStore, PutGetKeepsEveryByteAndSurvivesReopen) {
  ScratchDir dir;
  const std::string path = dir.file("q.db");
  const HeldRequest in = transaction("remote.example", "txn1");
  std::string id;
  {
    auto store = open_store(path);
    Result<PutResult> p = store->put(in);
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_FALSE(p->existed);
    EXPECT_EQ(p->id.size(), 18u);
    EXPECT_EQ(p->answer_body, in.answer_body);
    id = p->id;
  }
  auto store = open_store(path);  // a new process after a restart
  Result<std::optional<Entry>> got = store->get(id);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  const Entry& e = **got;
  EXPECT_EQ(e.status, EntryStatus::held);
  EXPECT_EQ(e.request.method, in.method);
  EXPECT_EQ(e.request.target, in.target);
  ASSERT_EQ(e.request.headers.size(), in.headers.size());
  for (size_t i = 0; i < in.headers.size(); ++i) {
    EXPECT_EQ(e.request.headers[i].name, in.headers[i].name);
    EXPECT_EQ(e.request.headers[i].value, in.headers[i].value);
  }
  EXPECT_EQ(e.request.body, in.body);
  EXPECT_EQ(e.request.origin, "remote.example");
  EXPECT_EQ(e.request.findings, in.findings);
  EXPECT_EQ(e.request.remote_addr, "192.0.2.7");
  EXPECT_EQ(
      std::chrono::duration_cast<std::chrono::milliseconds>(e.request.received.time_since_epoch()),
      std::chrono::duration_cast<std::chrono::milliseconds>(in.received.time_since_epoch()));
  Result<std::optional<Entry>> none = store->get("q-0000000000000000");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(QuarantineStore, RetriedTransactionIsStoredOnceAndGetsTheSameAnswer) {
  ScratchDir dir;
  auto store = open_store(dir.file("q.db"));
  HeldRequest first = transaction("remote.example", "txn7");
  Result<PutResult> a = store->put(first);
  ASSERT_TRUE(a.ok());
  HeldRequest retry = first;
  retry.answer_body = "{\"something\":\"else\"}";  // the pipeline would compute it again
  Result<PutResult> b = store->put(retry);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->existed);
  EXPECT_TRUE(b->same_body);
  EXPECT_EQ(b->id, a->id);
  EXPECT_EQ(b->answer_body, first.answer_body);
  // Same txn id, different body: still one entry, flagged.
  retry.body = "{\"pdus\":[]}";
  Result<PutResult> c = store->put(retry);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->existed);
  EXPECT_FALSE(c->same_body);
  // The key is (direction, origin, txn id).
  EXPECT_FALSE(store->put(transaction("other.example", "txn7"))->existed);
  HeldRequest outbound = first;
  outbound.direction = "outbound";
  EXPECT_FALSE(store->put(outbound)->existed);
  EXPECT_EQ(store->stats()->total_count, 3u);
  Result<std::optional<Entry>> l = store->lookup("inbound", "remote.example", "txn7");
  ASSERT_TRUE(l.ok() && l->has_value());
  EXPECT_EQ((*l)->id, a->id);
}

// The in-memory index the inbound pipeline asks before an off-loop lookup: it must know every
// stored transaction (a miss would answer a retry of a held transaction as a new one), after
// a put, a retried put and a reopen, and must not claim transactions that were never stored.
TEST(QuarantineStore, IndexKnowsEveryStoredTransactionAcrossReopen) {
  ScratchDir dir;
  const std::string path = dir.file("q.db");
  {
    auto store = open_store(path);
    EXPECT_FALSE(store->may_contain("inbound", "remote.example", "t1"));
    ASSERT_TRUE(store->put(transaction("remote.example", "t1")).ok());
    EXPECT_TRUE(store->may_contain("inbound", "remote.example", "t1"));
    Result<PutResult> again = store->put(transaction("remote.example", "t1"));
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->existed);
    EXPECT_TRUE(store->may_contain("inbound", "remote.example", "t1"));
    // Each part of the key counts; the separator keeps "a"+"bc" apart from "ab"+"c".
    EXPECT_FALSE(store->may_contain("outbound", "remote.example", "t1"));
    EXPECT_FALSE(store->may_contain("inbound", "other.example", "t1"));
    EXPECT_FALSE(store->may_contain("inbound", "remote.example", "t2"));
    EXPECT_FALSE(store->may_contain("inbound", "remote.exampl", "et1"));
    Result<std::optional<Entry>> found = store->lookup("inbound", "remote.example", "t1");
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(found->has_value());
    ASSERT_TRUE(store->drop((*found)->id, "by test").ok());
    // A dropped entry still answers retries with its stored answer: still indexed.
    EXPECT_TRUE(store->may_contain("inbound", "remote.example", "t1"));
  }
  auto reopened = open_store(path);
  EXPECT_TRUE(reopened->may_contain("inbound", "remote.example", "t1"));
  EXPECT_FALSE(reopened->may_contain("inbound", "remote.example", "t2"));
}

TEST(QuarantineStore, ListFilters) {
  ScratchDir dir;
  auto store = open_store(dir.file("q.db"));
  const auto t0 = std::chrono::system_clock::now() - std::chrono::hours(2);
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    HeldRequest r = transaction(i % 2 ? "a.example" : "b.example", "t" + std::to_string(i));
    r.received = t0 + std::chrono::minutes(10 * i);
    ids.push_back(store->put(r)->id);
  }
  ASSERT_TRUE(store->drop(ids[0], "by test").ok());
  struct Case {
    ListFilter filter;
    std::vector<int> expected;  // indexes into ids, newest first
  };
  ListFilter held;
  held.status = EntryStatus::held;
  ListFilter from_a;
  from_a.origin = "a.example";
  ListFilter recent;
  recent.since = t0 + std::chrono::minutes(25);
  ListFilter dropped;
  dropped.status = EntryStatus::dropped;
  ListFilter limited;
  limited.limit = 2;
  const Case cases[] = {{ListFilter{}, {5, 4, 3, 2, 1, 0}},
                        {held, {5, 4, 3, 2, 1}},
                        {from_a, {5, 3, 1}},
                        {recent, {5, 4, 3}},
                        {dropped, {0}},
                        {limited, {5, 4}}};
  for (const Case& c : cases) {
    Result<std::vector<Entry>> got = store->list(c.filter);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), c.expected.size());
    for (size_t i = 0; i < c.expected.size(); ++i) {
      EXPECT_EQ((*got)[i].id, ids[static_cast<size_t>(c.expected[i])]);
      EXPECT_TRUE((*got)[i].request.body.empty());  // list never loads bodies
    }
  }
}

TEST(QuarantineStore, StatusMachine) {
  ScratchDir dir;
  auto store = open_store(dir.file("q.db"));
  const std::string id = store->put(transaction("r.example", "t1"))->id;
  const std::string other = store->put(transaction("r.example", "t2"))->id;

  // A failed delivery puts the entry back to held with the outcome kept.
  Result<Entry> claim = store->begin_release(id);
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ(claim->request.body, transaction("r.example", "t1").body);
  EXPECT_EQ(store->begin_release(id).error().code, "release_in_progress");
  EXPECT_EQ(store->drop(id, "x").error().code, "release_in_progress");
  ASSERT_TRUE(store->finish_release(id, false, 502, "core answered 502").ok());
  EXPECT_EQ((*store->get(id))->status, EntryStatus::held);
  EXPECT_EQ((*store->get(id))->core_status, 502);

  ASSERT_TRUE(store->begin_release(id).ok());
  ASSERT_TRUE(store->finish_release(id, true, 200, "core answered 200").ok());
  Entry done = **store->get(id);
  EXPECT_EQ(done.status, EntryStatus::released);
  EXPECT_EQ(done.outcome, "core answered 200");
  EXPECT_EQ(store->begin_release(id).error().code, "already_released");
  EXPECT_EQ(store->begin_release(id, true).error().code, "already_released");
  EXPECT_EQ(store->drop(id, "x").error().code, "already_released");
  EXPECT_EQ(store->finish_release(id, true, 200, "again").error().code, "release_not_claimed");

  ASSERT_TRUE(store->drop(other, "dropped by alice").ok());
  EXPECT_EQ(store->drop(other, "x").error().code, "already_dropped");
  EXPECT_EQ(store->begin_release(other).error().code, "already_dropped");
  EXPECT_EQ(store->begin_release("q-nope").error().code, "not_found");
  EXPECT_EQ(store->drop("q-nope", "x").error().code, "not_found");

  // A release claimed by a crashed CLI can be taken over with force.
  const std::string stuck = store->put(transaction("r.example", "t3"))->id;
  ASSERT_TRUE(store->begin_release(stuck).ok());
  EXPECT_EQ(store->begin_release(stuck).error().code, "release_in_progress");
  EXPECT_TRUE(store->begin_release(stuck, true).ok());
}

TEST(QuarantineStore, SizeLimitAndMetrics) {
  ScratchDir dir;
  const HeldRequest r = transaction("r.example", "t0");
  const std::uint64_t one =
      r.method.size() + r.target.size() + encode_headers(r.headers).size() + r.body.size();
  auto store = open_store(dir.file("q.db"), 2 * one + 10);
  ASSERT_TRUE(store->put(transaction("r.example", "t0")).ok());
  ASSERT_TRUE(store->put(transaction("r.example", "t1")).ok());
  Result<PutResult> full = store->put(transaction("r.example", "t2"));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, "quarantine_full");
  // A retry of a stored one still gets its answer when full.
  EXPECT_TRUE(store->put(transaction("r.example", "t1"))->existed);
  StoreStats s = *store->stats();
  EXPECT_EQ(s.held_count, 2u);
  EXPECT_EQ(s.held_bytes, 2 * one);
  // Dropping frees room.
  ASSERT_TRUE(store->drop(store->lookup("inbound", "r.example", "t0")->value().id, "x").ok());
  EXPECT_TRUE(store->put(transaction("r.example", "t2")).ok());

  std::vector<prometheus::MetricFamily> families;
  append_quarantine_metrics(*store->stats(), families);
  ASSERT_EQ(families.size(), 6u);
  EXPECT_EQ(families[0].name, "bordergate_quarantine_held");
  EXPECT_EQ(families[0].metric[0].gauge.value, 2.0);
  EXPECT_EQ(families[1].name, "bordergate_quarantine_denied");
  EXPECT_EQ(families[1].metric[0].gauge.value, 0.0);
  EXPECT_EQ(families[2].name, "bordergate_quarantine_held_bytes");
  EXPECT_EQ(families[2].metric[0].gauge.value, static_cast<double>(2 * one));
  EXPECT_EQ(families[3].name, "bordergate_quarantine_evidence");
  EXPECT_EQ(families[4].name, "bordergate_quarantine_evidence_bytes");
  EXPECT_EQ(families[5].name, "bordergate_quarantine_entries");
  EXPECT_EQ(families[5].metric[0].gauge.value, 3.0);
}

// The original of an event delivered redacted in an answer: kept once per event (its id is the
// key), never found as a transaction (lookup, put of a transaction with that id, the index),
// not releasable, droppable, and within a max_bytes budget of its own.
TEST(QuarantineStore, EvidenceOfRedactedAnswerEvents) {
  ScratchDir dir;
  auto evidence_of = [](const std::string& event_id) {
    HeldRequest r;
    r.direction = "outbound";
    r.origin = "core.example";
    r.txn_id = event_id;
    r.destination = "r.example";
    r.method = "GET";
    r.target = "/_matrix/federation/v1/backfill/!room:core.example?v=%24x&limit=10";
    r.body =
        R"({"type":"org.example.internal","content":{"body":")" + std::string(300, 's') + R"("}})";
    r.rule_id = "keep-inside";
    r.reason = "redacted_in_answer";
    r.verdict = StoredVerdict::redacted;
    r.answer_status = 0;
    return r;
  };
  const HeldRequest ev = evidence_of("$e1");
  const HeldRequest txn = transaction("r.example", "t0");
  const std::uint64_t one_txn =
      txn.method.size() + txn.target.size() + encode_headers(txn.headers).size() + txn.body.size();
  const std::uint64_t one_ev = ev.method.size() + ev.target.size() + ev.body.size();
  ASSERT_GT(one_ev, one_txn);
  auto store = open_store(dir.file("q.db"), one_ev + 10);

  Result<PutResult> p = store->put(ev);
  ASSERT_TRUE(p.ok()) << p.error().message;
  Entry e = **store->get(p->id);
  EXPECT_EQ(e.status, EntryStatus::evidence);
  EXPECT_EQ(e.request.verdict, StoredVerdict::redacted);
  EXPECT_EQ(e.request.body, ev.body);
  EXPECT_EQ(e.request.target, ev.target);
  // The same event in a later answer is kept once.
  EXPECT_TRUE(store->put(evidence_of("$e1"))->existed);
  // Not a transaction: lookup and the index do not know it, and a transaction whose id is the
  // event id is stored on its own.
  EXPECT_FALSE(store->lookup("outbound", "core.example", "$e1")->has_value());
  EXPECT_FALSE(store->may_contain("outbound", "core.example", "$e1"));
  HeldRequest same_id = transaction("core.example", "$e1");
  same_id.direction = "outbound";
  Result<PutResult> t = store->put(same_id);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_FALSE(t->existed);
  EXPECT_NE(t->id, p->id);
  // Its own budget: the held transaction above did not use it up, the next evidence does.
  EXPECT_EQ(store->put(evidence_of("$e2")).error().code, "quarantine_full");
  StoreStats st = *store->stats();
  EXPECT_EQ(st.evidence_count, 1u);
  EXPECT_EQ(st.evidence_bytes, one_ev);
  EXPECT_EQ(st.held_count, 1u);
  EXPECT_EQ(st.held_bytes, same_id.method.size() + same_id.target.size() +
                               encode_headers(same_id.headers).size() + same_id.body.size());
  // Not releasable; listed and dropped like the rest.
  EXPECT_EQ(store->begin_release(p->id).error().code, "evidence_not_releasable");
  EXPECT_EQ(store->begin_release(p->id, true).error().code, "evidence_not_releasable");
  ListFilter only;
  only.status = EntryStatus::evidence;
  ASSERT_EQ(store->list(only)->size(), 1u);
  EXPECT_EQ(parse_status("evidence"), EntryStatus::evidence);
  ASSERT_TRUE(store->drop(p->id, "dropped by alice").ok());
  EXPECT_EQ((*store->get(p->id))->status, EntryStatus::dropped);
  EXPECT_TRUE(store->put(evidence_of("$e2")).ok());
}

// A deny verdict stores the transaction as `denied`: a person may release or drop it like a
// held one, a failed release returns it to `denied`, its retry gets the stored verdict, and it
// counts against max_bytes (it waits for a person, too).
TEST(QuarantineStore, DeniedEntriesWaitForAPersonLikeHeldOnes) {
  ScratchDir dir;
  HeldRequest denied = transaction("r.example", "d1");
  denied.verdict = StoredVerdict::deny;
  const std::uint64_t one = denied.method.size() + denied.target.size() +
                            encode_headers(denied.headers).size() + denied.body.size();
  auto store = open_store(dir.file("q.db"), 2 * one + 10);
  Result<PutResult> p = store->put(denied);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->verdict, StoredVerdict::deny);
  const std::string id = p->id;
  Entry e = **store->get(id);
  EXPECT_EQ(e.status, EntryStatus::denied);
  EXPECT_EQ(e.request.verdict, StoredVerdict::deny);
  // The retry: the stored verdict, whatever the retry claims.
  HeldRequest retry = transaction("r.example", "d1");
  Result<PutResult> again = store->put(retry);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->existed);
  EXPECT_EQ(again->verdict, StoredVerdict::deny);

  ASSERT_TRUE(store->put(transaction("r.example", "h1")).ok());
  StoreStats st = *store->stats();
  EXPECT_EQ(st.held_count, 1u);
  EXPECT_EQ(st.denied_count, 1u);
  EXPECT_EQ(st.held_bytes, 2 * one);
  EXPECT_EQ(store->put(transaction("r.example", "h2")).error().code, "quarantine_full");

  ListFilter only_denied;
  only_denied.status = EntryStatus::denied;
  ASSERT_EQ(store->list(only_denied)->size(), 1u);
  EXPECT_EQ(parse_status("denied"), EntryStatus::denied);

  ASSERT_TRUE(store->begin_release(id).ok());
  ASSERT_TRUE(store->finish_release(id, false, 503, "core answered 503").ok());
  EXPECT_EQ((*store->get(id))->status, EntryStatus::denied);
  ASSERT_TRUE(store->begin_release(id).ok());
  ASSERT_TRUE(store->finish_release(id, true, 200, "core answered 200").ok());
  EXPECT_EQ((*store->get(id))->status, EntryStatus::released);

  HeldRequest other = transaction("r.example", "d2");
  other.verdict = StoredVerdict::deny;
  const std::string dropped = store->put(other)->id;
  ASSERT_TRUE(store->drop(dropped, "dropped by alice").ok());
  EXPECT_EQ((*store->get(dropped))->status, EntryStatus::dropped);
}

// A store written by an older bordergate (schema 1: no verdict column, no `denied` status) is
// rebuilt in place on open: every entry kept byte for byte, as held by a quarantine verdict.
TEST(QuarantineStore, MigratesASchemaOneFile) {
  ScratchDir dir;
  const std::string path = dir.file("q.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* v1 = R"sql(
CREATE TABLE entries(
  id TEXT PRIMARY KEY, direction TEXT NOT NULL, origin BLOB NOT NULL, txn_id BLOB NOT NULL,
  destination BLOB NOT NULL, remote_addr BLOB NOT NULL, method BLOB NOT NULL,
  target BLOB NOT NULL, headers BLOB NOT NULL, body BLOB NOT NULL, received_ms INTEGER NOT NULL,
  rule_id BLOB NOT NULL, reason BLOB NOT NULL, findings BLOB NOT NULL,
  answer_status INTEGER NOT NULL, answer_body BLOB NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('held', 'releasing', 'released', 'dropped')),
  status_changed_ms INTEGER NOT NULL, outcome BLOB NOT NULL DEFAULT '', core_status INTEGER,
  size_bytes INTEGER NOT NULL, UNIQUE (direction, origin, txn_id));
CREATE INDEX entries_received ON entries (received_ms);
CREATE INDEX entries_status ON entries (status, received_ms);
INSERT INTO entries VALUES ('q-00000000000000aa', 'inbound', 'old.example', 't1', 'core.example',
  '192.0.2.1', 'PUT', '/_matrix/federation/v1/send/t1', x'', x'7b7d', 1000, 'r', 'why', '', 200,
  '{"pdus":{}}', 'released', 2000, 'core answered 200', 200, 40);
PRAGMA user_version=1;
)sql";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto store = open_store(path);
  ASSERT_TRUE(store);
  Entry old = **store->get("q-00000000000000aa");
  EXPECT_EQ(old.status, EntryStatus::released);
  EXPECT_EQ(old.request.verdict, StoredVerdict::quarantine);
  EXPECT_EQ(old.request.body, "{}");
  EXPECT_EQ(old.outcome, "core answered 200");
  EXPECT_TRUE(store->may_contain("inbound", "old.example", "t1"));
  HeldRequest denied = transaction("r.example", "d1");
  denied.verdict = StoredVerdict::deny;
  ASSERT_TRUE(store->put(denied).ok());
  store.reset();
  // Opening again finds the current version and changes nothing.
  auto again = open_store(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->stats()->total_count, 2u);
  EXPECT_EQ(again->stats()->denied_count, 1u);
}

// Schema 2 (verdict column, no evidence status) is rebuilt the same way, verdicts kept.
TEST(QuarantineStore, MigratesASchemaTwoFile) {
  ScratchDir dir;
  const std::string path = dir.file("q.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* v2 = R"sql(
CREATE TABLE entries(
  id TEXT PRIMARY KEY, direction TEXT NOT NULL, origin BLOB NOT NULL, txn_id BLOB NOT NULL,
  destination BLOB NOT NULL, remote_addr BLOB NOT NULL, method BLOB NOT NULL,
  target BLOB NOT NULL, headers BLOB NOT NULL, body BLOB NOT NULL, received_ms INTEGER NOT NULL,
  rule_id BLOB NOT NULL, reason BLOB NOT NULL, findings BLOB NOT NULL,
  answer_status INTEGER NOT NULL, answer_body BLOB NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('held', 'releasing', 'released', 'dropped', 'denied')),
  status_changed_ms INTEGER NOT NULL, outcome BLOB NOT NULL DEFAULT '', core_status INTEGER,
  size_bytes INTEGER NOT NULL,
  verdict TEXT NOT NULL DEFAULT 'quarantine' CHECK (verdict IN ('quarantine', 'deny')),
  UNIQUE (direction, origin, txn_id));
CREATE INDEX entries_received ON entries (received_ms);
CREATE INDEX entries_status ON entries (status, received_ms);
INSERT INTO entries VALUES ('q-00000000000000bb', 'inbound', 'old.example', 't1', 'core.example',
  '192.0.2.1', 'PUT', '/_matrix/federation/v1/send/t1', x'', x'7b7d', 1000, 'r', 'why', '', 200,
  '{"pdus":{}}', 'denied', 2000, '', NULL, 40, 'deny');
PRAGMA user_version=2;
)sql";
    ASSERT_EQ(sqlite3_exec(db, v2, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto store = open_store(path);
  ASSERT_TRUE(store);
  Entry old = **store->get("q-00000000000000bb");
  EXPECT_EQ(old.status, EntryStatus::denied);
  EXPECT_EQ(old.request.verdict, StoredVerdict::deny);
  HeldRequest ev = transaction("r.example", "$event");
  ev.verdict = StoredVerdict::redacted;
  Result<PutResult> p = store->put(ev);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ((*store->get(p->id))->status, EntryStatus::evidence);
}

TEST(QuarantineStore, ConcurrentPutsOfOneTransactionStoreItOnce) {
  ScratchDir dir;
  const std::string path = dir.file("q.db");
  auto a = open_store(path);
  auto b = open_store(path);  // e.g. two gateway workers' pools or a second process
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      QuarantineStore& s = i % 2 ? *a : *b;
      Result<PutResult> p = s.put(transaction("r.example", "same"));
      ASSERT_TRUE(p.ok()) << p.error().message;
      ids[static_cast<size_t>(i)] = p->id;
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(a->stats()->total_count, 1u);
}

TEST(QuarantineStore, RefusesANewerSchemaAndKeepsItsFilePrivate) {
  ScratchDir dir;
  const std::string path = dir.file("q.db");
  { open_store(path); }
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  {
    auto s = open_store(path);
    ASSERT_TRUE(s);
  }
  // Bump the schema version behind the store's back.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=9", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  Result<std::unique_ptr<QuarantineStore>> s = QuarantineStore::open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "quarantine_schema");
}

TEST(QuarantineStore, HeaderCodecRejectsTruncation) {
  const std::vector<HeaderField> h = {{"A", "1"}, {"", ""}, {"Long", std::string(70000, 'x')}};
  const std::string blob = encode_headers(h);
  Result<std::vector<HeaderField>> back = decode_headers(blob);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[2].value.size(), 70000u);
  for (size_t cut = 1; cut < 20; ++cut) {
    if (cut == 10 || cut == 18) continue;  // field boundaries: a valid shorter list
    EXPECT_FALSE(decode_headers(blob.substr(0, cut)).ok()) << cut;
  }
}

TEST(CoreRelease, RequestBytesFollowTheProxysForwardingRules) {
  HeldRequest r = transaction("remote.example", "txn1");
  r.headers.push_back({"X-Forwarded-For", "6.6.6.6"});
  r.headers.push_back({"Connection", "keep-alive"});
  const std::string bytes = release_request_bytes(r, "core.example");
  const std::string expected =
      "PUT /_matrix/federation/v1/send/txn1 HTTP/1.1\r\n"
      "Host: core.example\r\n"
      "authorization: X-Matrix origin=\"remote.example\",key=\"ed25519:a\",sig=\"x\"\r\n"
      "Authorization: X-Matrix origin=\"remote.example\",key=\"ed25519:b\",sig=\"y\"\r\n"
      "Content-Type: application/json\r\n"
      "X-Odd: a\x80\xff  b\r\n"
      "X-Forwarded-For: 192.0.2.7\r\n"
      "X-Forwarded-Proto: https\r\n"
      "Content-Length: 30\r\n"
      "\r\n" +
      r.body;
  EXPECT_EQ(bytes, expected);
}

}  // namespace
}  // namespace bordergate::quarantine
