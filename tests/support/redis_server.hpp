// A real redis-server for the integration tests: started on a free loopback port on first
// use, once per test binary, and stopped (by its process id) when the binary exits.
#pragma once

namespace portico::test {

// The running server's port (starts it the first time; fails the calling test if it cannot).
int redis_port();

// A loopback port with nothing listening (a refused connection).
int closed_port();

}  // namespace portico::test
