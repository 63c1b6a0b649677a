#include "gateway/enforcement/services.h"

#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <filesystem>

#include "gateway/audit/audit_metrics.h"
#include "gateway/common/metric_family.h"
#include "gateway/enforcement/policy_file.h"
#include "gateway/quarantine/quarantine_metrics.h"

namespace bordergate::enforcement {

Result<std::unique_ptr<EnforcementServices>> build_enforcement_services(const Config& config) {
  auto s = std::make_unique<EnforcementServices>();
  s->server_name = config.server_name;
  s->policy_path = config.policy;
  // The evidence files live in state_dir by default; an unusable directory shows up as the
  // open errors below.
  for (const std::string& file :
       {config.audit.path, config.quarantine.path, config.state_dir + "/room_versions.db",
        config.state_dir + "/room_members.db"}) {
    std::error_code ignored;
    std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ignored);
  }
  audit::AuditLogOptions o;
  o.path = config.audit.path;
  o.fsync.kind =
      config.audit.fsync == AuditConfig::Fsync::always  ? audit::FsyncPolicy::Kind::every_batch
      : config.audit.fsync == AuditConfig::Fsync::never ? audit::FsyncPolicy::Kind::never
                                                        : audit::FsyncPolicy::Kind::interval;
  o.fsync.interval = config.audit.fsync_interval;
  o.queue_capacity = config.audit.queue_records;
  s->audit_fail_closed = config.audit.on_failure == AuditConfig::OnFailure::refuse;
  auto log = audit::AuditLog::open(o);
  if (!log) return make_error(log.error().code, "audit: " + log.error().message);
  s->audit = std::move(log.value());

  // The policy, once the chain can record the attempt: a refusal at start is evidence too.
  PolicyFile file = load_policy_file(config.policy);
  auto loaded = load_policy_for(file, config.server_name);
  PolicyLoadEvent event;
  event.trigger = "start";
  event.actor = describe_uid(static_cast<unsigned>(geteuid())) + ", started by " +
                describe_pid(static_cast<int>(getppid()));
  event.file = config.policy;
  event.sha256 = file.sha256;
  event.loaded = loaded.ok();
  if (loaded) {
    event.revision = (*loaded)->revision;
  } else {
    event.reason = loaded.error().code;
    event.error = loaded.error().message;
  }
  s->audit->submit(policy_load_record(event));
  if (!loaded) {
    s->audit->flush();
    return loaded.error();
  }
  s->policy = std::make_unique<policy::PolicyStore>(std::move(loaded.value()));

  auto store =
      quarantine::QuarantineStore::open(config.quarantine.path, config.quarantine.max_bytes);
  if (!store) return make_error(store.error().code, "quarantine: " + store.error().message);
  s->quarantine = std::move(store.value());

  auto rooms = RoomVersions::open(config.state_dir + "/room_versions.db");
  if (!rooms) return make_error(rooms.error().code, "room versions: " + rooms.error().message);
  s->room_versions = std::move(rooms.value());

  auto members = RoomMembers::open(config.state_dir + "/room_members.db");
  if (!members) return make_error(members.error().code, "room members: " + members.error().message);
  s->room_members = std::move(members.value());
  return s;
}

std::string evidence_metrics(EnforcementServices& services) {
  std::string text = services.metrics.serialize();
  std::vector<prometheus::MetricFamily> families;
  if (services.room_members) {
    using prometheus::MetricType;
    const RoomMembers& rm = *services.room_members;
    append_single_sample(families, "bordergate_room_members_rooms",
                         "Rooms whose membership the gateway tracks", MetricType::Gauge,
                         rm.rooms());
    append_single_sample(families, "bordergate_room_members_entries",
                         "Room memberships the gateway tracks (users over all rooms)",
                         MetricType::Gauge, rm.entries());
    append_single_sample(families, "bordergate_room_members_dropped_total",
                         "Membership events not tracked because the room or entry bound was "
                         "reached",
                         MetricType::Counter, rm.dropped());
  }
  if (services.audit) audit::append_audit_metrics(services.audit->stats(), families);
  if (services.quarantine) {
    if (auto stats = services.quarantine->stats()) {
      quarantine::append_quarantine_metrics(*stats, families);
    }
  }
  if (!families.empty()) text += prometheus::TextSerializer().Serialize(families);
  return text;
}

}  // namespace bordergate::enforcement
