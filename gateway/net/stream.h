// A TCP connection on a libuv loop, optionally wrapped in TLS (or in TLS inside TLS: the Core's
// TLS proxy listener carries the tunnelled TLS inside its own), that hands its owner plaintext.
// Outgoing bytes are collected during one event and written with a single uv_write on flush();
// the write request owns its buffer until the write callback, and buffers are recycled so steady
// traffic allocates nothing.
#pragma once

#include <uv.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/net/tls_session.h"
#include "gateway/net/uv_handle.h"

namespace bordergate {

// What a Stream reports to its owner. Callbacks may call Stream::close() but
// never delete the Stream: deletion belongs in on_stream_closed().
class StreamHandler {
 public:
  virtual void on_stream_connected(int status) { (void)status; }
  virtual void on_stream_tls_ready() {}
  virtual void on_stream_data(const char* data, size_t len) = 0;
  // Peer closed (EOF or close_notify), a socket error, or a TLS failure.
  virtual void on_stream_end(int uv_status, bool tls_failure) = 0;
  // Bytes in flight dropped to zero after having been non-zero.
  virtual void on_stream_drained() {}
  // The handle is gone; the owner may delete itself now.
  virtual void on_stream_closed() = 0;

 protected:
  ~StreamHandler() = default;
};

class Stream {
 public:
  Stream(uv_loop_t* loop, StreamHandler& handler);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  uv_tcp_t* tcp() { return tcp_; }
  int accept(uv_stream_t* server);
  int connect(const sockaddr* addr);
  // Starts TLS; the server side waits for the ClientHello, the client side
  // sends its hello immediately.
  Status start_tls(SSL_CTX* ctx, bool server, const std::string& verify_name = {},
                   bool verify_ip = false);
  // Server side TLS that carries everything else on this stream, a later start_tls included
  // (TLS-in-TLS). Call it before any byte was read and before start_tls. The owner sees the
  // outer layer's plaintext until start_tls, then the inner layer's; on_stream_tls_ready is
  // reported once per layer.
  Status start_outer_tls(SSL_CTX* ctx);
  TlsSession* tls() { return tls_.get(); }  // the innermost layer started with start_tls
  TlsSession* outer_tls() { return outer_.get(); }

  void read_start();
  void read_stop();
  // Processes bytes the owner already read from this socket before TLS started (a proxy reads
  // the tunnel's ClientHello to check it, then hands it to the TLS session) as if just received.
  void feed_received(const char* data, size_t len);

  // Queues plaintext; nothing is sent before flush().
  void write(std::string_view data);
  void flush();
  size_t bytes_in_flight() const { return in_flight_; }
  size_t pending() const { return out_.size() + plain_.size(); }

  // Sends close_notify if TLS is up, flushes, half-closes after the writes,
  // then closes once the peer has closed too (lingering close; the owner
  // bounds the wait with its own timer and calls close()).
  void close_gracefully();
  // Closes now; queued writes are dropped.
  void close();
  bool closing() const { return closing_; }

  // Remote address as text (for X-Forwarded-For), empty if unknown.
  std::string peer_address() const;

 private:
  struct WriteReq {
    uv_write_t req;
    std::string data;
  };
  static void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_connect(uv_connect_t* req, int status);
  static void on_shutdown(uv_shutdown_t* req, int status);
  static void on_close(uv_handle_t* h);
  // Bytes at the level the owner sees before start_tls: the socket's, or the outer layer's
  // plaintext. Go through the inner TLS layer when there is one.
  void handle_inner(const char* data, size_t len);
  // Feeds one TLS layer, advances its handshake and passes what it decrypts on: the outer layer
  // to handle_inner, the inner one to the handler.
  void run_layer(TlsSession& session, bool outer, const char* data, size_t len);
  // Moves what the TLS layers produced into out_: the inner layer's records are encrypted again
  // by the outer one. False when the outer layer failed to take them.
  bool drain_tls_output();
  void fail(int status, bool tls_failure);
  void encrypt_pending();
  void shutdown_write();

  uv_tcp_t* tcp_;
  bool initialized_ = false;
  StreamHandler& handler_;
  std::unique_ptr<TlsSession> tls_;
  std::unique_ptr<TlsSession> outer_;  // TLS-in-TLS: the layer on the wire
  std::string out_;                    // plaintext (no TLS) or ciphertext waiting for flush
  std::string plain_;                  // TLS only: plaintext waiting to be encrypted at flush
  std::string inner_records_;  // TLS-in-TLS: inner ciphertext on its way into the outer layer
  std::unique_ptr<WriteReq> spare_;
  size_t in_flight_ = 0;
  bool closing_ = false;
  bool close_after_writes_ = false;
  bool reported_end_ = false;
  bool reading_ = false;
  bool peer_done_ = false;   // the peer's FIN or an error was seen
  bool write_shut_ = false;  // our FIN was sent
};

}  // namespace bordergate
