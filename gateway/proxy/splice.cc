#include "gateway/proxy/splice.h"

namespace bordergate {
namespace {

// Above this many bytes queued towards one side, the other is not read.
constexpr std::size_t kHighWater = 1 << 20;
// Bytes the Core may send while the destination is still being resolved and dialled (it waits
// for the ServerHello, so a real client sends nothing here).
constexpr std::size_t kMaxEarlyBytes = 256 * 1024;

}  // namespace

Splice::Splice(TunnelDestination& destination, uv_loop_t* loop, ProxyMetrics& metrics, Owner& owner)
    : destination_(destination),
      loop_(loop),
      metrics_(metrics),
      owner_(owner),
      dial_timer_(loop, &Splice::on_dial_timeout, this) {}

void Splice::start(std::string early) {
  early_ = std::move(early);
  stage_ = Stage::resolving;
  destination_.resolve([this](Result<discovery::ResolvedServer> r) {
    if (stage_ != Stage::resolving) return;
    if (!r) {
      refuse(r.error().code == "ssrf_refused" ? "ssrf_refused" : "destination_unresolved");
      return;
    }
    next_target_ = 0;
    connect_next();
  });
}

void Splice::refuse(std::string_view reason) {
  stage_ = Stage::closed;
  owner_.splice_refused(reason);
}

void Splice::on_client_bytes(const char* data, std::size_t len) {
  if (stage_ == Stage::resolving) {
    early_.append(data, len);
    if (early_.size() > kMaxEarlyBytes) refuse("early_data_too_large");
    return;
  }
  if (stage_ != Stage::splicing) return;
  owner_.splice_activity();
  metrics_.spliced(true, len);
  socket_->write(std::string_view(data, len));
  socket_->flush();
  if (socket_->bytes_in_flight() > kHighWater) owner_.splice_read_client(false);
}

void Splice::connect_next() {
  const auto& targets = destination_.resolved()->targets;
  if (next_target_ >= targets.size()) {
    refuse("destination_unreachable");
    return;
  }
  const discovery::ConnectTarget& t = targets[next_target_++];
  socket_ = std::make_unique<Stream>(loop_, *this);
  sockaddr_storage address{};
  t.address.to_sockaddr(t.port, reinterpret_cast<sockaddr*>(&address));
  dial_timer_.start(
      static_cast<std::uint64_t>(destination_.settings().config->connect_timeout.count()));
  if (socket_->connect(reinterpret_cast<sockaddr*>(&address)) != 0) socket_->close();
}

void Splice::on_dial_timeout(void* self) {
  auto* s = static_cast<Splice*>(self);
  // on_stream_closed tries the next address, as after a refused connect.
  if (s->stage_ == Stage::resolving && s->socket_) s->socket_->close();
}

void Splice::on_stream_connected(int status) {
  dial_timer_.stop();
  if (status != 0) {
    socket_->close();  // on_stream_closed tries the next address
    return;
  }
  socket_connected_ = true;
  stage_ = Stage::splicing;
  owner_.splice_activity();
  socket_->read_start();
  socket_->write(early_);
  socket_->flush();
  early_.clear();
  early_.shrink_to_fit();
}

void Splice::on_stream_data(const char* data, std::size_t len) {
  owner_.splice_activity();
  metrics_.spliced(false, len);
  owner_.splice_to_client(std::string_view(data, len));
  if (owner_.splice_client_queued() > kHighWater) socket_->read_stop();
}

void Splice::on_stream_end(int, bool) {
  socket_->close();
  if (stage_ == Stage::splicing) {
    stage_ = Stage::closed;
    owner_.splice_ended();
  }
}

void Splice::on_stream_drained() {
  if (stage_ == Stage::splicing) owner_.splice_read_client(true);
}

void Splice::on_client_drained() {
  if (stage_ == Stage::splicing && socket_) socket_->read_start();
}

void Splice::on_stream_closed() {
  std::unique_ptr<Stream> gone = std::move(socket_);  // freed after its last callback
  if (stage_ == Stage::resolving && !socket_connected_) {
    connect_next();
    return;
  }
  if (stage_ == Stage::splicing) {
    stage_ = Stage::closed;
    owner_.splice_ended();
  }
}

void Splice::on_client_end() {
  stage_ = Stage::closed;
  if (socket_) socket_->close();
}

}  // namespace bordergate
