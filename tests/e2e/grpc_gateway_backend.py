"""The grpc-gateway tests' gRPC service (python3-grpcio): tests/e2e/protos/gateway/users.proto,
stubs generated at test time with the google/api and google/rpc protos of Debian's
grpc-gateway sources. Run as a process:

    python3 grpc_gateway_backend.py --port N [--name NAME]

It prints "ready" once serving. In a test, `users()` gives the generated modules and
`GatewayBackend` starts and stops a server process."""
import argparse
import importlib
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path

from grpc_backend import ServiceProcess, generate

HERE = Path(__file__).resolve().parent
PROTOS = HERE / "protos" / "gateway"
GOOGLEAPIS = Path("/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis")
_modules = None


def users():
    """A namespace with users_pb2, users_pb2_grpc, status_pb2 and error_details_pb2."""
    global _modules
    if _modules is None:
        out = tempfile.mkdtemp(prefix="portico-grpc-gateway-")
        generate(PROTOS, ["users.proto", "common.proto", "google/api/annotations.proto", "google/api/http.proto",
                          "google/rpc/status.proto", "google/rpc/error_details.proto"], out, includes=[GOOGLEAPIS])
        sys.path.insert(0, out)
        _modules = argparse.Namespace(
            pb2=importlib.import_module("users_pb2"), grpc=importlib.import_module("users_pb2_grpc"),
            common=importlib.import_module("common_pb2"), status=importlib.import_module("google.rpc.status_pb2"),
            details=importlib.import_module("google.rpc.error_details_pb2"))
    return _modules


def serve(port, name):
    import grpc
    from google.protobuf import any_pb2
    m = users()
    pb2 = m.pb2

    def code_of(number):
        return next(c for c in grpc.StatusCode if c.value[0] == number)

    class Users(m.grpc.UsersServicer):
        def Echo(self, request, context):
            return pb2.EchoReply(request=request, served_by=name)

        def GetUser(self, request, context):
            if request.id == 404:
                context.abort(grpc.StatusCode.NOT_FOUND, "no user 404")
            return pb2.User(id=request.id, name="user-%d" % request.id, password_hash="$2b$12$secret",
                            role=m.common.ROLE_ADMIN, created_at={"seconds": 1700000000, "nanos": 500000000})

        def StreamUsers(self, request, context):
            for i in range(request.count):
                if i and request.interval_ms:
                    time.sleep(request.interval_ms / 1000)
                yield pb2.User(id=i, name="user-%d" % i)
            if request.fail_code:
                context.abort(code_of(request.fail_code), "stopped after %d" % request.count)

        def Fail(self, request, context):
            details = any_pb2.Any()
            details.Pack(m.details.BadRequest(field_violations=[
                m.details.BadRequest.FieldViolation(field=request.field, description="is wrong")]))
            status = m.status.Status(code=request.code, message=request.message, details=[details])
            context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
            context.abort(code_of(request.code), request.message)

        def Ping(self, request, context):
            return pb2.PingReply(token=request.token)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    m.grpc.add_UsersServicer_to_server(Users(), server)
    server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


class GatewayBackend(ServiceProcess):
    """A grpc_gateway_backend.py process on `port`, stopped by close()."""

    def __init__(self, port, name="users"):
        super().__init__(Path(__file__), port, ["--name", name])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="users")
    a = parser.parse_args()
    serve(a.port, a.name)
