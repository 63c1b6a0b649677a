// An egress tunnel after its ClientHello passed the gate: the destination is resolved (SSRF
// guard included), each address dialled in turn within outbound.connect_timeout, and then bytes
// are copied both ways unread, with backpressure on either side.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/net/stream.h"
#include "gateway/proxy/proxy_metrics.h"
#include "gateway/proxy/tunnel_destination.h"

namespace bordergate {

class Splice final : public StreamHandler {
 public:
  class Owner {
   public:
    // The destination could not be resolved or reached ("ssrf_refused", "destination_unresolved",
    // "destination_unreachable", "early_data_too_large"): audited and closed by the owner.
    virtual void splice_refused(std::string_view reason) = 0;
    // Some byte moved: the idle deadline starts again.
    virtual void splice_activity() = 0;
    // The destination closed: the Core's side closes after its queued bytes.
    virtual void splice_ended() = 0;
    // The Core's side of the splice (the connection's socket): bytes to it, sent at once; its
    // reading paused or resumed (backpressure); what it has queued but not yet sent.
    virtual void splice_to_client(std::string_view data) = 0;
    virtual void splice_read_client(bool reading) = 0;
    virtual std::size_t splice_client_queued() const = 0;

   protected:
    ~Owner() = default;
  };

  Splice(TunnelDestination& destination, uv_loop_t* loop, ProxyMetrics& metrics, Owner& owner);
  Splice(const Splice&) = delete;
  Splice& operator=(const Splice&) = delete;

  // Resolves and dials; `early` (the ClientHello and anything after it) goes first.
  void start(std::string early);
  bool connected() const { return stage_ == Stage::splicing; }
  // Bytes from the Core, its socket drained, or ended.
  void on_client_bytes(const char* data, std::size_t len);
  void on_client_drained();
  void on_client_end();

  // StreamHandler of the destination socket.
  void on_stream_connected(int status) override;
  void on_stream_data(const char* data, std::size_t len) override;
  void on_stream_end(int uv_status, bool tls_failure) override;
  void on_stream_drained() override;
  void on_stream_closed() override;

 private:
  enum class Stage { resolving, splicing, closed };
  static void on_dial_timeout(void* self);
  void connect_next();
  void refuse(std::string_view reason);

  TunnelDestination& destination_;
  uv_loop_t* loop_;
  ProxyMetrics& metrics_;
  Owner& owner_;
  Stage stage_ = Stage::resolving;
  std::string early_;  // bytes from the Core before the destination connected
  std::unique_ptr<Stream> socket_;
  std::size_t next_target_ = 0;
  bool socket_connected_ = false;
  Timer dial_timer_;
};

}  // namespace bordergate
