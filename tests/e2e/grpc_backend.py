"""A real gRPC service for the tests (python3-grpcio): tests/e2e/protos/greeter.proto, with stubs
generated at test time by python3-grpc-tools. Run as a process:

    python3 grpc_backend.py --port N [--name NAME] [--tls CERT KEY] [--health-file PATH] [--unavailable]

It prints "ready" once serving; with --unavailable, SayHello fails with UNAVAILABLE. It also serves gRPC's health checking protocol
(grpc.health.v1.Health, from Debian's grpc-proto): SERVING, or what --health-file says
(SERVING / NOT_SERVING) when that file exists. In a test, `greeter()` gives the generated modules (for a
client), `GrpcBackend` starts and stops a server process."""
import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTOS = HERE / "protos"
HEALTH_PROTO = Path("/usr/share/grpc-proto/grpc/health/v1/health.proto")
_modules = None
_health_modules = None


def generate(proto_dir, proto_names, out_dir, includes=()):
    """Runs grpc_tools.protoc on the file(s) `proto_names` (names relative to proto_dir or to one
    of `includes`) into out_dir (python messages and stubs)."""
    from grpc_tools import protoc
    import grpc_tools
    names = [proto_names] if isinstance(proto_names, str) else list(proto_names)
    well_known = str(Path(grpc_tools.__file__).parent / "_proto")
    flags = ["-I" + str(d) for d in (proto_dir, *includes, well_known)]
    rc = protoc.main(["protoc", *flags, "--python_out=" + str(out_dir), "--grpc_python_out=" + str(out_dir), *names])
    if rc != 0:
        raise RuntimeError("protoc failed on %s" % names)


def greeter():
    """(greeter_pb2, greeter_pb2_grpc), generated once per process."""
    global _modules
    if _modules is None:
        out = tempfile.mkdtemp(prefix="portico-grpc-")
        generate(PROTOS, "greeter.proto", out)
        sys.path.insert(0, out)
        _modules = (importlib.import_module("greeter_pb2"), importlib.import_module("greeter_pb2_grpc"))
    return _modules


def health():
    """(health_pb2, health_pb2_grpc) from Debian's grpc-proto. The file is compiled from a copy
    at the top of its own folder: a module path grpc.health.v1 would collide with the grpc
    package itself (the proto package, and so the service's name, is unchanged)."""
    global _health_modules
    if _health_modules is None:
        out = Path(tempfile.mkdtemp(prefix="portico-grpc-health-"))
        (out / "src").mkdir()
        (out / "src" / "health.proto").write_text(HEALTH_PROTO.read_text())
        generate(out / "src", "health.proto", out)
        sys.path.insert(0, str(out))
        _health_modules = (importlib.import_module("health_pb2"), importlib.import_module("health_pb2_grpc"))
    return _health_modules


def serve(port, name, tls, health_file=None, unavailable=False):
    import grpc
    pb2, pb2_grpc = greeter()

    def reply(request, context, message):
        metadata = {k: v for k, v in context.invocation_metadata() if not k.endswith("-bin")}
        return pb2.HelloReply(message=message, metadata=metadata, served_by=name,
                              padding=b"x" * request.payload_bytes)

    class Greeter(pb2_grpc.GreeterServicer):
        def SayHello(self, request, context):
            if unavailable:
                context.abort(grpc.StatusCode.UNAVAILABLE, "%s is going away" % name)
            if request.delay_ms:
                time.sleep(request.delay_ms / 1000)
            return reply(request, context, "Hello, %s" % request.name)

        def StreamHellos(self, request, context):
            for i in range(request.count):
                if i and request.interval_ms:
                    time.sleep(request.interval_ms / 1000)
                yield reply(request, context, "Hello #%d, %s" % (i, request.name))

        def CollectHellos(self, request_iterator, context):
            names = [r.name for r in request_iterator]
            return pb2.HelloReply(message="Hello, " + " and ".join(names), served_by=name)

        def Chat(self, request_iterator, context):
            for r in request_iterator:
                yield reply(r, context, "Hi, %s" % r.name)

        def Fail(self, request, context):
            context.set_trailing_metadata((("failure-detail", "asked-for"),))
            context.abort(grpc.StatusCode(next(c for c in grpc.StatusCode if c.value[0] == request.code)),
                          request.message)

    health_pb2, health_pb2_grpc = health()

    class Health(health_pb2_grpc.HealthServicer):
        def Check(self, request, context):
            status = "SERVING"
            if health_file and os.path.exists(health_file):
                status = Path(health_file).read_text().strip() or "SERVING"
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.ServingStatus.Value(status))

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    health_pb2_grpc.add_HealthServicer_to_server(Health(), server)
    address = "127.0.0.1:%d" % port
    if tls:
        cert, key = (Path(p).read_bytes() for p in tls)
        server.add_secure_port(address, grpc.ssl_server_credentials([(key, cert)]))
    else:
        server.add_insecure_port(address)
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


class ServiceProcess:
    """A service script run as a process on `port` (it prints "ready" once serving); close() stops it."""

    def __init__(self, script, port, args=()):
        self.port = port
        self.proc = subprocess.Popen([sys.executable, str(script), "--port", str(port), *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.close()
            raise RuntimeError("%s did not start: %r" % (Path(script).name, line))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class GrpcBackend(ServiceProcess):
    """A grpc_backend.py process on `port`, stopped by close()."""

    def __init__(self, port, name="greeter", tls=None, health_file=None, unavailable=False):
        args = ["--name", name]
        if tls:
            args += ["--tls", str(tls[0]), str(tls[1])]
        if health_file:
            args += ["--health-file", str(health_file)]
        if unavailable:
            args += ["--unavailable"]
        super().__init__(Path(__file__), port, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="greeter")
    parser.add_argument("--tls", nargs=2)
    parser.add_argument("--health-file")
    parser.add_argument("--unavailable", action="store_true")
    a = parser.parse_args()
    serve(a.port, a.name, a.tls, a.health_file, a.unavailable)
