// The test zone served by dnsmasq for the discovery DNS tests (everything under bg.test).
#pragma once

#include <string>
#include <vector>

namespace bordergate::discovery::testing {

inline std::vector<std::string> test_zone() {
  return {
      "--host-record=t1.bg.test,127.0.0.1",
      "--host-record=t2.bg.test,127.0.0.2",
      "--host-record=t3.bg.test,127.0.0.3",
      "--host-record=dual.bg.test,127.0.0.4,::1",
      "--host-record=loop.bg.test,127.0.0.99",
      "--host-record=mapped.bg.test,::ffff:127.0.0.1",
      "--host-record=heavy.bg.test,127.0.0.5",
      "--host-record=light.bg.test,127.0.0.6",
      "--host-record=wk.bg.test,127.0.0.1",
      "--cname=alias.bg.test,t1.bg.test",
      // _matrix-fed with three priorities, and a _matrix record that must never be used.
      "--srv-host=_matrix-fed._tcp.srv.bg.test,t3.bg.test,8003,20,0",
      "--srv-host=_matrix-fed._tcp.srv.bg.test,t1.bg.test,8001,10,0",
      "--srv-host=_matrix-fed._tcp.srv.bg.test,t2.bg.test,8002,5,0",
      "--srv-host=_matrix._tcp.srv.bg.test,t3.bg.test,9999,0,0",
      "--host-record=srv.bg.test,127.0.0.1",
      // Only the deprecated record.
      "--srv-host=_matrix._tcp.legacy.bg.test,t2.bg.test,9002,0,0",
      "--host-record=legacy.bg.test,127.0.0.1",
      // Weighted: same priority, 90 versus 10.
      "--srv-host=_matrix-fed._tcp.weighted.bg.test,heavy.bg.test,7001,1,90",
      "--srv-host=_matrix-fed._tcp.weighted.bg.test,light.bg.test,7002,1,10",
      // An SRV target whose address is a loopback address the guard does not allow.
      "--srv-host=_matrix-fed._tcp.srvloop.bg.test,loop.bg.test,8448,0,0",
      // The well-known delegate for wk.bg.test.
      "--srv-host=_matrix-fed._tcp.deleg.bg.test,t2.bg.test,8449,0,0",
  };
}

}  // namespace bordergate::discovery::testing
