"""The graphql plugin (issue 17) through a running gateway: a route serving a GraphQL schema
itself, its fields resolved from three REST services.

One gateway (2 workers) and three recording backends serve the module (a second gateway on
the demo services serves examples/bff.yml for the last tests). Every backend is a threaded
HTTP/1.1 server on 127.0.0.1 that records each request (method, path and query, lower-cased
headers, body, when it arrived and when its answer was ready) and answers from fixed data by
path:

    users:     /users/N              a user (id, name, created_at, address)
    orders:    /orders?user_id=N     {"data": [the user's orders]} (user 1: two orders of 20 items)
               /orders/N             an order
    products:  /products/N           a product (1..13)
               /products?ids=A,B,... {"data": [the products known among the ids]}
               /products             {"data": [every product]}
               POST /products        the product created from the JSON body
    all:       /slow?ms=N            after N ms
               /status/N             status N with a JSON body
               /echo/...             the identity and forwarded headers it saw

The routes: /graphql (the schema below, from a file; default limits), /limited (the same
schema and resolvers with small limits, a 250 ms request timeout and no introspection), /budget
(the same with max_calls 5 and max_parallel_calls 2),
/secure/graphql (behind the jwt plugin; an inline SDL). graphql-js 16.9
(tests/graphql/node_modules, run with node) is the reference for introspection and for the
messages of refused requests.

Covered: resolution through service/path, value and property resolvers and every template
source; one level's calls at once (at most max_parallel_calls); batching (one call per level,
max_size); identical calls made once per request; max_calls; interface and union values named
by a property of REST answers (abstract_types); resolvers on interface fields; failed, timed-out and missing-value fields with their errors and
non-null propagation; identity and forwarded headers; GET / POST and the HTTP statuses;
syntax, validation and variable errors as graphql-js gives them; the limits (depth, aliases,
cost, tokens, size, introspection), refused before any call; persisted queries;
introspection against graphql-js; load-time refusals; the examples (examples/bff.yml).
"""
import hashlib
import json
import math
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jwt
import pytest

from conftest import SOURCE_DIR, Backends, Portico, Reply, assert_check_refuses, call, demo_config, stop
from answering_backend import AnsweringBackend

ALICE_ID = "0b6a6a9e-1f0e-4c55-9f6a-a11ce0000001"
JWT_SECRET = "alice-jwt-secret-0123456789abcdef"
GRAPHQL_JS = SOURCE_DIR / "tests" / "graphql" / "node_modules"

# --- the services' data ------------------------------------------------------------------------

USERS = {n: {"id": n, "name": "User %d" % n, "created_at": "2024-0%d-01T10:00:00Z" % n,
             "address": {"city": ["Lyon", "Oslo", "Lima"][n - 1]}, "password_hash": "secret"}
         for n in (1, 2, 3)}
PRODUCTS = {n: {"id": n, "name": "Product %d" % n, "sku": "SKU-%d" % n,
                "price": {"amount": 100 * n, "currency": "EUR"}, "stock": n % 4}
            for n in range(1, 14)}
UNKNOWN_PRODUCT = 999  # in an order, not in the products service
ORDERS = {
    11: {"id": 11, "user_id": 1, "status": "shipped",
         "items": [{"product_id": i % 7 + 1, "quantity": i + 1} for i in range(20)]},
    12: {"id": 12, "user_id": 1, "status": "processing",
         "items": [{"product_id": i % 9 + 5, "quantity": 1} for i in range(19)] +
                  [{"product_id": UNKNOWN_PRODUCT, "quantity": 2}]},
    21: {"id": 21, "user_id": 2, "status": "shipped",
         "items": [{"product_id": 2, "quantity": 1}, {"product_id": 3, "quantity": 4}]},
    31: {"id": 31, "status": "lost", "items": []},  # no user_id
}
# Lists of things of several types, as REST services write them (Query.feed, a FeedItem union).
FEEDS = {
    "ok": [dict(USERS[1], kind="user"), dict(PRODUCTS[2], kind="product"), dict(ORDERS[21], kind="order")],
    "unknown kind": [dict(USERS[2], kind="user"), {"kind": "gadget", "id": 5}],
    "no kind": [{"id": 6, "name": "who knows"}, dict(PRODUCTS[3], kind="product")],
    "typename instead": [dict(PRODUCTS[4], __typename="Product")],
}
# Things by id, each naming its type's name in "type" (Query.thing, a Node interface).
THINGS = {"u1": dict(USERS[1], type="User"), "p2": dict(PRODUCTS[2], type="Product"),
          "m": {"type": "Money", "id": "m", "amount": 1}, "x": {"type": "Nope", "id": "x"}}
DISTINCT_IDS_OF_USER_1 = {str(i["product_id"]) for o in (ORDERS[11], ORDERS[12]) for i in o["items"]}
assert len(DISTINCT_IDS_OF_USER_1) == 14


class Backend(AnsweringBackend):
    """A recording backend answering JSON from the fixed data above, by path."""

    def answer(self, rec):
        status, payload = self.answer_json(rec)
        return status, "application/json", json.dumps(payload).encode()

    def answer_json(self, rec):
        url = urllib.parse.urlsplit(rec["path"])
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        parts = [p for p in url.path.split("/") if p]
        if parts == ["slow"]:
            time.sleep(int(query.get("ms", "0")) / 1000)
            return 200, {"slept": int(query.get("ms", "0")), "tag": query.get("tag"), "by": self.name}
        if len(parts) == 2 and parts[0] == "status":
            return int(parts[1]), {"status": int(parts[1])}
        if parts and parts[0] == "echo":
            h = rec["headers"]
            return 200, {"path": rec["path"], "consumerId": h.get("x-consumer-id"),
                         "consumerUsername": h.get("x-consumer-username"), "tenant": h.get("x-tenant"),
                         "trace": h.get("x-trace"), "unlisted": h.get("x-unlisted"),
                         "authorization": h.get("authorization")}
        if self.name == "users" and len(parts) == 2 and parts[0] == "users" and parts[1].isdigit():
            u = USERS.get(int(parts[1]))
            return (200, u) if u else (404, {"message": "no such user"})
        if self.name == "orders" and parts == ["orders"]:
            return 200, {"data": [o for o in ORDERS.values() if str(o.get("user_id")) == query.get("user_id")]}
        if self.name == "orders" and len(parts) == 2 and parts[0] == "orders" and parts[1].isdigit():
            o = ORDERS.get(int(parts[1]))
            return (200, o) if o else (404, {"message": "no such order"})
        if self.name == "products" and parts == ["feed"]:
            return 200, FEEDS[query["variant"]]
        if self.name == "users" and len(parts) == 2 and parts[0] == "things":
            return (200, THINGS[parts[1]]) if parts[1] in THINGS else (404, {"message": "no such thing"})
        if self.name == "products" and parts == ["products"] and rec["method"] == "POST":
            sent = json.loads(rec["body"])
            return 201, {"id": 77, "name": sent["name"], "sku": "NEW", "price": {"amount": sent["amount"], "currency": "EUR"}}
        if self.name == "products" and parts == ["products"]:
            if "ids" in query:
                wanted = query["ids"].split(",")
                return 200, {"data": [PRODUCTS[int(i)] for i in wanted if i.isdigit() and int(i) in PRODUCTS]}
            return 200, {"data": list(PRODUCTS.values())}
        if self.name == "products" and len(parts) == 2 and parts[0] == "products" and parts[1].isdigit():
            p = PRODUCTS.get(int(parts[1]))
            return (200, p) if p else (404, {"message": "no such product"})
        return 404, {"message": "not found"}

    def matching(self, pred):
        with self.lock:
            return [r for r in self.requests if pred(r)]

    def starting(self, prefix):
        return self.matching(lambda r: r["path"].startswith(prefix))

    def with_path(self, path):
        return self.matching(lambda r: r["path"] == path)

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.close()


# --- the gateway's configuration ---------------------------------------------------------------

SDL = '''"""The e2e test's schema."""
schema {
  query: Query
  mutation: Mutation
}

"Where things are."
interface Node {
  id: ID!
  self: String
}

type Query {
  "A user by id."
  user(id: ID!): User
  order(id: ID!): Order
  orders(userId: ID!, first: Int): [Order!]!
  product(id: ID!): Product
  products(first: Int, filter: ProductFilter): [Product!]!
  matrix: [[Product!]]
  info(n: Int!): Info
  slowA(tag: String!): Slow
  slowB(tag: String!): Slow
  sluggish(tag: String!): Slow
  slow(ms: Int!, tag: String!): Slow
  broken: Product
  wrapper: Wrapper
  echo(tag: String!): Echo
  localized: Echo
  node(id: ID!): Node
  search(text: String = "all"): [SearchResult!]
  feed(variant: String = "ok"): [FeedItem]
  thing(id: ID!): Node
  plan: Plan
  at: DateTime
}

type Mutation {
  createProduct(name: String!, amount: Int!): Product
}

type User implements Node {
  id: ID!
  self: String
  name: String!
  createdAt: String
  city: String
  orders: [Order!]!
}

type Order implements Node {
  id: ID!
  self: String
  status: String!
  customer: User
  items: [OrderItem!]!
}

type OrderItem {
  quantity: Int!
  product: Product
  "The same product, fetched five parents per call."
  productFew: Product
  productBroken: Product
}

type Product implements Node {
  id: ID!
  self: String
  name: String!
  sku: String @deprecated(reason: "Use `code`.")
  price: Money!
  stock: Int
}

type Money {
  amount: Int!
  currency: String!
}

type Info {
  n: Int
  label: String
  fixed: Boolean
  list: [String]
}

type Slow {
  slept: Int
  tag: String
  by: String
}

type Wrapper {
  ok: String
  strict: Product!
}

type Echo {
  path: String
  consumerId: String
  consumerUsername: String
  tenant: String
  trace: String
  unlisted: String
  authorization: String
}

union SearchResult = User | Product

"What a REST feed lists, each item naming its type by a `kind` property."
union FeedItem = User | Product | Order

enum Plan {
  FREE
  PRO
  LEGACY @deprecated(reason: "gone")
}

"Filters products."
input ProductFilter {
  name: String
  minPrice: Int = 0
  plans: [Plan!]
}

scalar DateTime @specifiedBy(url: "https://tools.ietf.org/html/rfc3339")

directive @cached(seconds: Int = 60) repeatable on FIELD_DEFINITION | OBJECT
'''

RESOLVERS = {
    "Query.user": {"service": "users", "path": "/users/{args.id}"},
    "Query.order": {"service": "orders", "path": "/orders/{args.id}"},
    "Query.orders": {"service": "orders", "path": "/orders?user_id={args.userId}", "select": "/data"},
    "Query.product": {"service": "products", "path": "/products/{args.id}"},
    "Query.products": {"service": "products", "path": "/products", "select": "/data"},
    "Query.info": {"value": {"n": "{args.n}", "label": "n={args.n}", "fixed": True, "list": ["{args.n}", "x"]}},
    "Query.slowA": {"service": "users", "path": "/slow?ms=300&tag={args.tag}&which=a"},
    "Query.slowB": {"service": "orders", "path": "/slow?ms=300&tag={args.tag}&which=b"},
    "Query.sluggish": {"service": "users", "path": "/slow?ms=1500&tag={args.tag}", "timeout": 200},
    "Query.slow": {"service": "users", "path": "/slow?ms={args.ms}&tag={args.tag}"},
    "Query.broken": {"service": "products", "path": "/status/503"},
    "Query.wrapper": {"value": {"ok": "yes"}},
    "Wrapper.strict": {"service": "products", "path": "/status/500"},
    "Query.echo": {"service": "users", "path": "/echo/{args.tag}", "forward_headers": ["X-Trace"]},
    "Query.localized": {"service": "users", "path": "/echo/loc?lang={header.X-Lang}&v={query.v}"},
    "Mutation.createProduct": {"service": "products", "method": "POST", "path": "/products",
                               "body": '{{"name": "{args.name}", "amount": {args.amount}}}'},
    "User.createdAt": {"property": "created_at"},
    "User.city": {"property": "address.city"},
    "User.orders": {"service": "orders", "path": "/orders?user_id={parent.id}", "select": "/data"},
    "Order.customer": {"service": "users", "path": "/users/{parent.user_id}"},
    "OrderItem.product": {"service": "products", "path": "/products/{parent.product_id}",
                          "batch": {"path": "/products?ids={parents.product_id|join:,}", "select": "/data",
                                    "key": "id"}},
    "OrderItem.productFew": {"service": "products", "path": "/products/{parent.product_id}",
                             "batch": {"path": "/products?few=1&ids={parents.product_id|join:,}",
                                       "select": "/data", "key": "id", "max_size": 5}},
    "OrderItem.productBroken": {"service": "products", "path": "/products/{parent.product_id}",
                                "batch": {"path": "/status/503?ids={parents.product_id|join:,}", "key": "id"}},
    "Node.self": {"value": "node-{parent.id}"},  # every Node but Order, which has its own
    "Order.self": {"value": "order-{parent.id}"},
    "Query.feed": {"service": "products", "path": "/feed?variant={args.variant}"},
    "Query.thing": {"service": "users", "path": "/things/{args.id}"},
    "Query.search": {"value": [{"__typename": "User", "id": "u1", "name": "{args.text}"},
                               {"__typename": "Product", "id": "p1", "name": "Thing",
                                "price": {"amount": 1, "currency": "EUR"}}]},
}

# REST answers name their type their own way: a FeedItem by "kind" (mapped), a Node by "type".
ABSTRACT_TYPES = {"FeedItem": {"property": "kind", "types": {"user": "User", "product": "Product", "order": "Order"}},
                  "Node": {"property": "type"}}

LIMITS = {"max_depth": 3, "max_aliases": 2, "max_cost": 50, "list_size": 10, "max_tokens": 60,
          "max_document_size": 400, "introspection": False, "timeout": 250}

SECURE_SDL = """type Query {
  me: Echo
}

type Echo {
  path: String
  consumerId: String
  consumerUsername: String
  tenant: String
  unlisted: String
  authorization: String
}
"""


def gateway_config(b, schema_file):
    return {
        "_format_version": "3.0",
        "services": [{"name": name, "url": "http://127.0.0.1:%d" % b[name].port} for name in ("users", "orders", "products")],
        "routes": [
            {"name": "graphql", "paths": ["/graphql"], "plugins": [
                {"name": "graphql", "config": {"schema": str(schema_file), "resolvers": RESOLVERS,
                                               "abstract_types": ABSTRACT_TYPES}}]},
            {"name": "limited", "paths": ["/limited"], "plugins": [
                {"name": "graphql", "config": dict(LIMITS, schema=str(schema_file), resolvers=RESOLVERS)}]},
            {"name": "budget", "paths": ["/budget"], "plugins": [
                {"name": "graphql", "config": {"schema": str(schema_file), "resolvers": RESOLVERS,
                                               "max_calls": 5, "max_parallel_calls": 2}}]},
            {"name": "secure", "paths": ["/secure/graphql"], "plugins": [
                {"name": "jwt", "config": {"claims_to_verify": ["exp"]}},
                {"name": "graphql", "config": {
                    "schema": SECURE_SDL, "forward_headers": ["X-Tenant"],
                    "resolvers": {"Query.me": {"service": "users",
                                               "path": "/echo/me/{jwt.sub}?u={consumer.username}"}}}}]},
        ],
        "consumers": [
            {"id": ALICE_ID, "username": "alice",
             "jwt_secrets": [{"key": "alice-iss", "algorithm": "HS256", "secret": JWT_SECRET}]},
        ],
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    backends = {name: Backend(name) for name in ("users", "orders", "products")}
    tmp = tmp_path_factory.mktemp("graphql")
    schema_file = tmp / "schema.graphql"
    schema_file.write_text(SDL)
    path = tmp / "kong.json"
    path.write_text(json.dumps(gateway_config(backends, schema_file), indent=1))
    try:
        portico = Portico(path)
    except Exception:
        for b in backends.values():
            b.close()
        raise
    yield portico, backends
    portico.close()
    for b in backends.values():
        b.close()
    # the ASan build reports memory errors and leaks in its log and exit status
    log = open(portico.log_path).read()
    assert "Sanitizer" not in log and "runtime error" not in log, log[-5000:]
    assert portico.proc.returncode == 0, log[-5000:]


# --- graphql-js, the reference -----------------------------------------------------------------

INTROSPECTION_OPTIONS = {
    "default": {},
    "every option": {"descriptions": True, "specifiedByUrl": True, "directiveIsRepeatable": True,
                     "schemaDescription": True, "inputValueDeprecation": True},
}

# Requests refused before execution, whose errors graphql-js gives for the same schema.
REFERENCE_CASES = {
    "wrong variable type": {"query": 'query Q($id: ID!) { product(id: $id) { name } }', "variables": {"id": {"x": 1}}},
    "missing variable": {"query": 'query Q($id: ID!) { product(id: $id) { name } }', "variables": {}},
    "variable of an input type": {"query": 'query Q($f: ProductFilter) { products(filter: $f) { name } }',
                                  "variables": {"f": {"minPrice": "cheap", "plans": ["GOLD"]}}},
    "syntax": {"query": '{ product(id: "1") { name }'},
    "syntax in a string": {"query": '{\n  product(id: "1\n") { name } }'},
    "validation": {"query": '{ product(id: "1") { nam } }'},
    "several validation errors": {"query": 'query Q($x: Int) {\n  user { name }\n  product(id: 1.5) { id ... on User { name } }\n}'},
    "two operations without a name": {"query": 'query A { product(id: "1") { name } } query B { product(id: "2") { name } }'},
    "unknown operation": {"query": 'query A { product(id: "1") { name } }', "operationName": "C"},
}

NODE_SCRIPT = r"""
const { graphql, buildSchema, getIntrospectionQuery } = require('graphql');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const schema = buildSchema(input.sdl);
  const out = { introspection: {}, cases: {} };
  for (const [name, options] of Object.entries(input.introspection)) {
    const source = getIntrospectionQuery(options);
    const result = await graphql({ schema, source });
    out.introspection[name] = { query: source, result: JSON.parse(JSON.stringify(result)) };
  }
  for (const [name, c] of Object.entries(input.cases)) {
    const result = await graphql({ schema, source: c.query, variableValues: c.variables, operationName: c.operationName });
    out.cases[name] = JSON.parse(JSON.stringify(result));
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def reference():
    """What graphql-js 16.9 answers for SDL: the introspection queries and REFERENCE_CASES."""
    if not (GRAPHQL_JS / "graphql").is_dir():
        pytest.skip("graphql-js is not installed in tests/graphql/node_modules")
    r = subprocess.run(["node", "-e", NODE_SCRIPT], capture_output=True, text=True, timeout=60,
                       input=json.dumps({"sdl": SDL, "introspection": INTROSPECTION_OPTIONS, "cases": REFERENCE_CASES}),
                       env=dict(os.environ, NODE_PATH=str(GRAPHQL_JS)))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for name in ("missing variable", "syntax", "validation"):  # the reference is what we think it is
        assert "errors" in out["cases"][name] and "data" not in out["cases"][name], out["cases"][name]
    return out


# --- requests ----------------------------------------------------------------------------------

def gql(portico, query, variables=None, operation_name=None, path="/graphql", headers=None, extensions=None):
    """A POST application/json GraphQL request."""
    payload = {"query": query}
    if query is None:
        del payload["query"]
    if variables is not None:
        payload["variables"] = variables
    if operation_name is not None:
        payload["operationName"] = operation_name
    if extensions is not None:
        payload["extensions"] = extensions
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return call(portico, path, h, "POST", json.dumps(payload).encode())


def gql_get(portico, path="/graphql", **params):
    return call(portico, path + "?" + urllib.parse.urlencode(params))


def total_calls(b):
    return sum(x.count() for x in b.values())


def ok(r):
    """The data of a 200 answer without errors."""
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("application/json"), r
    body = r.json
    assert "errors" not in body, body
    return body["data"]


# --- 1. resolution -----------------------------------------------------------------------------

def test_fields_resolved_from_three_services(env):
    portico, b = env
    query = """{
      user(id: "2") {
        id name createdAt city
        orders { id status customer { id name } items { quantity product { id name price { amount currency } } } }
      }
      product(id: "3") { id name sku stock }
      info(n: 7) { n label fixed list }
      plain: order(id: "21") { id status }
    }"""
    data = ok(gql(portico, query))
    assert data == {
        "user": {
            "id": "2", "name": "User 2", "createdAt": "2024-02-01T10:00:00Z", "city": "Oslo",
            "orders": [{"id": "21", "status": "shipped", "customer": {"id": "2", "name": "User 2"},
                        "items": [{"quantity": 1, "product": {"id": "2", "name": "Product 2",
                                                              "price": {"amount": 200, "currency": "EUR"}}},
                                  {"quantity": 4, "product": {"id": "3", "name": "Product 3",
                                                              "price": {"amount": 300, "currency": "EUR"}}}]}],
        },
        "product": {"id": "3", "name": "Product 3", "sku": "SKU-3", "stock": 3},
        # a string that is one reference keeps the value's type; others are rendered
        "info": {"n": 7, "label": "n=7", "fixed": True, "list": ["7", "x"]},
        "plain": {"id": "21", "status": "shipped"},
    }
    # the calls the templates made
    assert b["users"].with_path("/users/2")
    assert b["orders"].with_path("/orders?user_id=2")
    assert b["orders"].with_path("/orders/21")
    assert b["products"].with_path("/products/3")
    assert b["products"].with_path("/products?ids=2,3")


def test_template_values_are_percent_encoded(env):
    portico, b = env
    before = b["users"].count() + b["orders"].count()
    r = gql(portico, 'query($id: ID!) { product(id: $id) { name } }', {"id": "1/../../users/1?x=1#y"})
    assert r.status == 200, r
    assert r.json["data"] == {"product": None}
    assert r.json["errors"][0]["message"] == "Query.product: answered 404"
    assert b["products"].with_path("/products/1%2F..%2F..%2Fusers%2F1%3Fx%3D1%23y")
    assert b["users"].count() + b["orders"].count() == before


def test_field_without_resolver_and_typename(env):
    portico, _ = env
    data = ok(gql(portico, '{ __typename plan at node(id: "1") { id } product(id: "1") { __typename name } }'))
    assert data == {"__typename": "Query", "plan": None, "at": None, "node": None,
                    "product": {"__typename": "Product", "name": "Product 1"}}


def test_union_values_name_their_type(env):
    portico, _ = env
    r = gql(portico, '{ search(text: "ada") { __typename ... on User { id name } ... on Product { name price { amount } } } }')
    assert ok(r) == {"search": [{"__typename": "User", "id": "u1", "name": "ada"},
                                {"__typename": "Product", "name": "Thing", "price": {"amount": 1}}]}


def test_rest_values_of_a_union_name_their_type_by_a_mapped_property(env):
    portico, b = env
    q = '{ feed%s { __typename ... on User { name } ... on Product { name price { amount } } ... on Order { status } } }'
    assert ok(gql(portico, q % "")) == {"feed": [
        {"__typename": "User", "name": "User 1"}, {"__typename": "Product", "name": "Product 2", "price": {"amount": 200}},
        {"__typename": "Order", "status": "shipped"}]}
    assert b["products"].with_path("/feed?variant=ok")
    # "__typename" still names the type when the property is absent
    assert ok(gql(portico, q % '(variant: "typename instead")')) == {"feed": [{"__typename": "Product", "name": "Product 4",
                                                                              "price": {"amount": 400}}]}
    # a value the map does not know, or no property at all: that item is null with an error
    r = gql(portico, q % '(variant: "unknown kind")')
    assert r.status == 200
    assert r.json["data"] == {"feed": [{"__typename": "User", "name": "User 2"}, None]}
    assert r.json["errors"] == [{"message": 'Abstract type "FeedItem": no type for "kind": "gadget".',
                                 "locations": [{"line": 1, "column": 3}], "path": ["feed", 1]}]
    r = gql(portico, q % '(variant: "no kind")')
    assert r.json["data"] == {"feed": [None, {"__typename": "Product", "name": "Product 3", "price": {"amount": 300}}]}
    assert r.json["errors"] == [{"message": 'Abstract type "FeedItem": the value has no "kind" naming its type.',
                                 "locations": [{"line": 1, "column": 3}], "path": ["feed", 0]}]


def test_rest_values_of_an_interface_name_their_type_by_a_property(env):
    portico, _ = env
    q = '{ thing(id: "%s") { __typename id ... on User { name } ... on Product { sku } } }'
    assert ok(gql(portico, q % "u1")) == {"thing": {"__typename": "User", "id": "1", "name": "User 1"}}
    assert ok(gql(portico, q % "p2")) == {"thing": {"__typename": "Product", "id": "2", "sku": "SKU-2"}}
    # a type that is not a Node, or not in the schema: graphql-js's messages
    r = gql(portico, q % "m")
    assert r.json == {"errors": [{"message": 'Runtime Object type "Money" is not a possible type for "Node".',
                                  "locations": [{"line": 1, "column": 3}], "path": ["thing"]}], "data": {"thing": None}}
    r = gql(portico, q % "x")
    assert r.json["errors"][0]["message"] == ('Abstract type "Node" was resolved to a type "Nope" that does not exist '
                                              'inside the schema.')


def test_a_resolver_on_an_interface_serves_its_implementations(env):
    portico, _ = env
    data = ok(gql(portico, '{ thing(id: "u1") { self } product(id: "2") { self } order(id: "11") { self } '
                           'feed { ... on Node { self } } }'))
    assert data == {"thing": {"self": "node-1"}, "product": {"self": "node-2"}, "order": {"self": "order-11"},
                    "feed": [{"self": "node-1"}, {"self": "node-2"}, {"self": "order-21"}]}


def test_max_calls_bounds_what_a_request_sends(env):
    portico, b = env
    before = b["products"].count()
    aliases = " ".join('p%d: product(id: "%d") { name }' % (n, n) for n in range(1, 8))
    r = gql(portico, "{ %s }" % aliases, path="/budget")
    assert r.status == 200
    data = r.json["data"]
    assert [data["p%d" % n] for n in range(1, 6)] == [{"name": "Product %d" % n} for n in range(1, 6)]
    assert data["p6"] is None and data["p7"] is None
    assert [e["message"] for e in r.json["errors"]] == ["Query.product: the query needs more than 5 calls (max_calls)"] * 2
    assert [e["path"] for e in r.json["errors"]] == [["p6"], ["p7"]]
    assert b["products"].count() - before == 5
    # the budget is the request's: a level after it was spent sends nothing either
    before = b["users"].count()
    r = gql(portico, '{ a: product(id: "1") { name } b: product(id: "2") { name } c: product(id: "3") { name } '
                     'd: product(id: "4") { name } order(id: "21") { status customer { name } } }', path="/budget")
    assert r.json["data"]["order"] == {"status": "shipped", "customer": None}
    assert [(e["message"], e["path"]) for e in r.json["errors"]] == [
        ("Order.customer: the query needs more than 5 calls (max_calls)", ["order", "customer"])]
    assert b["users"].count() == before


def test_max_parallel_calls_queues_the_rest(env):
    portico, b = env
    tag = uuid.uuid4().hex[:8]
    started = time.time()
    r = gql(portico, "{ %s }" % " ".join('s%d: slow(ms: 200, tag: "%s-%d") { tag }' % (n, tag, n) for n in range(4)),
            path="/budget")
    elapsed = time.time() - started
    assert ok(r) == {"s%d" % n: {"tag": "%s-%d" % (tag, n)} for n in range(4)}
    calls = b["users"].matching(lambda rec: ("tag=%s-" % tag) in rec["path"])
    assert len(calls) == 4
    # two at a time: two in flight, never more, so two rounds of 200 ms
    assert max_in_flight(calls) == 2, [(c["path"], c["received"], c["replied"]) for c in calls]
    assert elapsed >= 0.4


def test_skipped_fields_call_nothing(env):
    portico, b = env
    before = total_calls(b)
    r = gql(portico, 'query($no: Boolean!) { a: product(id: "1") @skip(if: true) { name } '
                     'b: user(id: "1") @include(if: $no) { name } plan }', {"no": False})
    assert ok(r) == {"plan": None}
    assert total_calls(b) == before


def test_mutation_posts_its_body(env):
    portico, b = env
    name = 'Desk "lamp"\n'
    r = gql(portico, "mutation M($name: String!) { createProduct(name: $name, amount: 4200) { id name price { amount } } }",
            {"name": name})
    assert ok(r) == {"createProduct": {"id": "77", "name": name, "price": {"amount": 4200}}}
    seen = b["products"].matching(lambda x: x["method"] == "POST")[-1]
    assert seen["path"] == "/products"
    assert seen["headers"]["content-type"] == "application/json"
    assert json.loads(seen["body"]) == {"name": name, "amount": 4200}


def test_mutation_fields_each_call_the_service(env):
    """Two mutation fields are two operations with side effects (run one after the other, as
    the specification says): each is sent, even when they are alike."""
    portico, b = env
    name = "twin-" + uuid.uuid4().hex
    r = gql(portico, 'mutation { a: createProduct(name: "%s", amount: 1) { name } '
                     'b: createProduct(name: "%s", amount: 1) { name } }' % (name, name))
    assert ok(r) == {"a": {"name": name}, "b": {"name": name}}
    posts = b["products"].matching(lambda x: x["method"] == "POST" and name in x["body"])
    assert len(posts) == 2, [x["body"] for x in posts]


# --- 2. parallelism ----------------------------------------------------------------------------

def max_in_flight(recs):
    """The most of these requests that were being served at one moment."""
    events = sorted([(r["received"], 1) for r in recs] + [(r["replied"], -1) for r in recs])
    now = best = 0
    for _, delta in events:
        now += delta
        best = max(best, now)
    return best


def test_resolvers_of_one_level_run_at_once(env):
    portico, b = env
    tag = uuid.uuid4().hex
    r = gql(portico, '{ a: slowA(tag: "%s") { slept tag by } b: slowB(tag: "%s") { slept tag by } }' % (tag, tag))
    assert ok(r) == {"a": {"slept": 300, "tag": tag, "by": "users"}, "b": {"slept": 300, "tag": tag, "by": "orders"}}
    recs = b["users"].starting("/slow?ms=300&tag=" + tag) + b["orders"].starting("/slow?ms=300&tag=" + tag)
    assert len(recs) == 2, recs
    assert max_in_flight(recs) == 2, [(x["path"], x["received"], x["replied"]) for x in recs]


def test_a_level_starts_when_the_one_above_is_done(env):
    portico, b = env
    # order 21 (level 1) and its customer (level 2): the customer's call starts after the order's answer
    before = len(b["users"].with_path("/users/2"))
    ok(gql(portico, '{ order(id: "21") { customer { name } } }'))
    order = b["orders"].with_path("/orders/21")[-1]
    customer = b["users"].with_path("/users/2")[before:]
    assert len(customer) == 1
    assert customer[0]["received"] >= order["replied"]


# --- 3. batching -------------------------------------------------------------------------------

def batch_ids(rec, prefix):
    assert rec["path"].startswith(prefix), rec["path"]
    return rec["path"][len(prefix):].split(",")


def test_batched_field_makes_one_call_for_the_whole_level(env):
    portico, b = env
    before_batches = len(b["products"].starting("/products?ids="))
    before_single = len(b["products"].matching(lambda x: x["path"][len("/products/"):].isdigit()))
    r = gql(portico, '{ orders(userId: "1") { id items { quantity product { id name } } } }')
    data = ok(r)
    expected = []
    for o in (ORDERS[11], ORDERS[12]):
        items = []
        for item in o["items"]:
            p = item["product_id"]
            items.append({"quantity": item["quantity"],
                          "product": None if p == UNKNOWN_PRODUCT else {"id": str(p), "name": "Product %d" % p}})
        expected.append({"id": str(o["id"]), "items": items})
    assert data == {"orders": expected}
    calls = b["products"].starting("/products?ids=")[before_batches:]
    assert len(calls) == 1, [c["path"] for c in calls]
    ids = batch_ids(calls[0], "/products?ids=")
    assert len(ids) == len(set(ids)), ids  # each distinct id once
    assert set(ids) == DISTINCT_IDS_OF_USER_1
    # in order of first appearance among the parents
    first_seen = []
    for o in (ORDERS[11], ORDERS[12]):
        for item in o["items"]:
            if str(item["product_id"]) not in first_seen:
                first_seen.append(str(item["product_id"]))
    assert ids == first_seen
    # no call for one product alone
    assert len(b["products"].matching(lambda x: x["path"][len("/products/"):].isdigit())) == before_single


def test_batch_max_size_splits_the_parents(env):
    portico, b = env
    before = len(b["products"].starting("/products?few=1&ids="))
    data = ok(gql(portico, '{ orders(userId: "1") { items { productFew { id } } } }'))
    got = [item["productFew"] for o in data["orders"] for item in o["items"]]
    want = [None if i["product_id"] == UNKNOWN_PRODUCT else {"id": str(i["product_id"])}
            for o in (ORDERS[11], ORDERS[12]) for i in o["items"]]
    assert got == want
    calls = b["products"].starting("/products?few=1&ids=")[before:]
    assert len(calls) == math.ceil(len(DISTINCT_IDS_OF_USER_1) / 5) == 3, [c["path"] for c in calls]
    seen = []
    for c in calls:
        ids = batch_ids(c, "/products?few=1&ids=")
        assert 1 <= len(ids) <= 5, ids
        seen += ids
    assert len(seen) == len(set(seen)) and set(seen) == DISTINCT_IDS_OF_USER_1


def test_failed_batch_fails_each_of_its_parents(env):
    portico, b = env
    before = len(b["products"].starting("/status/503?ids="))
    r = gql(portico, '{ order(id: "21") { items { quantity productBroken { id } } } }')
    assert r.status == 200, r
    assert r.json["data"] == {"order": {"items": [{"quantity": 1, "productBroken": None},
                                                  {"quantity": 4, "productBroken": None}]}}
    assert r.json["errors"] == [
        {"message": "OrderItem.productBroken: answered 503", "locations": [{"line": 1, "column": 38}],
         "path": ["order", "items", i, "productBroken"]} for i in (0, 1)]
    assert [x["path"] for x in b["products"].starting("/status/503?ids=")[before:]] == ["/status/503?ids=2,3"]


# --- 4. identical calls ------------------------------------------------------------------------

def test_identical_calls_are_made_once_per_request(env):
    portico, b = env
    before_p = len(b["products"].with_path("/products/7"))
    before_u = len(b["users"].with_path("/users/2"))
    query = """{
      a: product(id: "7") { name }
      b: product(id: "7") { sku }
      c: product(id: "8") { name }
      user(id: "2") { name orders { customer { city } } }
    }"""
    data = ok(gql(portico, query))
    assert data == {"a": {"name": "Product 7"}, "b": {"sku": "SKU-7"}, "c": {"name": "Product 8"},
                    "user": {"name": "User 2", "orders": [{"customer": {"city": "Oslo"}}]}}
    assert len(b["products"].with_path("/products/7")) == before_p + 1
    # /users/2 asked by Query.user (level 1) and by Order.customer (level 3): one call
    assert len(b["users"].with_path("/users/2")) == before_u + 1
    # nothing is kept between requests
    ok(gql(portico, query))
    assert len(b["products"].with_path("/products/7")) == before_p + 2
    assert len(b["users"].with_path("/users/2")) == before_u + 2


# --- 5. errors ---------------------------------------------------------------------------------

def test_failed_call_nulls_its_field_with_an_error(env):
    portico, _ = env
    r = gql(portico, '{ product(id: "1") { name }\n  broken { id name } }')
    assert r.status == 200, r
    body = r.json
    assert body["data"] == {"product": {"name": "Product 1"}, "broken": None}
    assert body["errors"] == [{"message": "Query.broken: answered 503", "locations": [{"line": 2, "column": 3}],
                               "path": ["broken"]}]
    assert list(body) == ["errors", "data"]  # errors first, as graphql-js's servers write them


def test_non_null_field_failing_nulls_its_nearest_nullable_parent(env):
    portico, _ = env
    r = gql(portico, '{ wrapper { ok strict { id } } product(id: "2") { name } }')
    assert r.status == 200, r
    body = r.json
    assert body["data"] == {"wrapper": None, "product": {"name": "Product 2"}}
    assert body["errors"] == [{"message": "Wrapper.strict: answered 500", "locations": [{"line": 1, "column": 16}],
                               "path": ["wrapper", "strict"]}]


def test_a_call_past_its_resolver_timeout_fails_that_field_only(env):
    portico, b = env
    tag = uuid.uuid4().hex
    r = gql(portico, '{ sluggish(tag: "%s") { slept } product(id: "4") { name } info(n: 1) { n } }' % tag)
    assert r.status == 200, r
    body = r.json
    assert body["data"] == {"sluggish": None, "product": {"name": "Product 4"}, "info": {"n": 1}}
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert error["path"] == ["sluggish"] and error["locations"] == [{"line": 1, "column": 3}]
    assert error["message"].startswith("Query.sluggish: ") and "timed out" in error["message"], error
    assert r.elapsed < 1.2, r.elapsed  # not the backend's 1.5 s
    assert b["users"].starting("/slow?ms=1500&tag=" + tag)


def test_a_timed_out_call_is_not_sent_again_at_its_deadline(env):
    """The resolver's timeout (200 ms) is the call's deadline, retries included: when it passes
    there is no time left for another attempt, so the service gets the request once."""
    portico, b = env
    sent = []
    for _ in range(3):
        tag = uuid.uuid4().hex
        start = time.monotonic()
        r = gql(portico, '{ sluggish(tag: "%s") { slept } }' % tag)
        assert r.status == 200 and r.json["data"] == {"sluggish": None}, r
        time.sleep(0.05)  # anything sent after the answer has arrived by now
        sent.append([round(x["received"] - start, 4) for x in b["users"].starting("/slow?ms=1500&tag=" + tag)])
    # when each request reached the service, in seconds from the client's request
    assert all(len(times) == 1 for times in sent), sent


def test_missing_template_value_fails_the_field_without_a_call(env):
    portico, b = env
    before = len(b["users"].starting("/users/"))
    r = gql(portico, '{ order(id: "31") { id customer { name } } }')
    assert r.status == 200, r
    assert r.json == {"errors": [{"message": "Order.customer: missing value for {parent.user_id}",
                                  "locations": [{"line": 1, "column": 24}], "path": ["order", "customer"]}],
                      "data": {"order": {"id": "31", "customer": None}}}
    assert len(b["users"].starting("/users/")) == before


def test_plugin_timeout_bounds_the_whole_request(env):
    portico, b = env
    tag = uuid.uuid4().hex
    r = gql(portico, '{ slow(ms: 1500, tag: "%s") { slept } product(id: "5") { name } }' % tag, path="/limited")
    assert r.status == 200, r
    assert r.json["data"] == {"slow": None, "product": {"name": "Product 5"}}
    assert [e["path"] for e in r.json["errors"]] == [["slow"]]
    assert r.json["errors"][0]["message"].startswith("Query.slow: ") and "timed out" in r.json["errors"][0]["message"]
    assert 0.25 <= r.elapsed < 1.0, r.elapsed  # the route's 250 ms, not the service's 1.5 s


# --- 6. identity -------------------------------------------------------------------------------

def token(sub="user-42"):
    return jwt.encode({"iss": "alice-iss", "sub": sub, "exp": int(time.time()) + 300}, JWT_SECRET, algorithm="HS256")


def test_identity_headers_and_jwt_claims_reach_the_service(env):
    portico, b = env
    sub = "sub-" + uuid.uuid4().hex[:8]
    r = gql(portico, "{ me { path consumerId consumerUsername tenant unlisted authorization } }", path="/secure/graphql",
            headers={"Authorization": "Bearer " + token(sub), "X-Consumer-ID": "forged-id",
                     "X-Consumer-Username": "forged", "X-Tenant": "acme", "X-Unlisted": "no"})
    assert ok(r) == {"me": {"path": "/echo/me/%s?u=alice" % sub, "consumerId": ALICE_ID, "consumerUsername": "alice",
                            "tenant": "acme", "unlisted": None, "authorization": None}}
    seen = b["users"].with_path("/echo/me/%s?u=alice" % sub)
    assert len(seen) == 1
    headers = seen[0]["header_list"]
    assert [v for k, v in headers if k == "x-consumer-id"] == [ALICE_ID]
    assert [v for k, v in headers if k == "x-consumer-username"] == ["alice"]
    assert [v for k, v in headers if k == "x-tenant"] == ["acme"]
    assert seen[0]["headers"]["x-forwarded-for"] == "127.0.0.1"
    # without a token the jwt plugin answers first: nothing is called
    before = total_calls(b)
    assert gql(portico, "{ me { path } }", path="/secure/graphql").status == 401
    assert total_calls(b) == before


def test_header_and_query_values_of_the_client_request(env):
    portico, b = env
    v = uuid.uuid4().hex
    # POST: the request's head is read before its body
    r = gql(portico, "{ localized { path } }", path="/graphql?v=" + v, headers={"X-Lang": "fr CA/x"})
    assert ok(r) == {"localized": {"path": "/echo/loc?lang=fr%20CA%2Fx&v=" + v}}
    r = gql_get(portico, v=v, query="{ localized { path } }")
    assert r.status == 200, r
    assert r.json == {"errors": [{"message": "Query.localized: missing value for {header.X-Lang}",
                                  "locations": [{"line": 1, "column": 3}], "path": ["localized"]}],
                      "data": {"localized": None}}
    assert len(b["users"].starting("/echo/loc?")) == 1


def test_client_identity_headers_are_not_forwarded(env):
    portico, b = env
    tag = "plain-" + uuid.uuid4().hex[:8]
    r = gql(portico, '{ echo(tag: "%s") { consumerId consumerUsername trace tenant } }' % tag,
            headers={"X-Consumer-ID": "forged-id", "X-Consumer-Username": "forged", "X-Trace": "t-1", "X-Tenant": "acme"})
    # X-Trace is the resolver's forward_headers; X-Tenant only the secure route's
    assert ok(r) == {"echo": {"consumerId": None, "consumerUsername": None, "trace": "t-1", "tenant": None}}
    seen = b["users"].with_path("/echo/" + tag)
    assert len(seen) == 1
    assert "x-consumer-id" not in seen[0]["headers"] and "x-consumer-username" not in seen[0]["headers"]


# --- 7. HTTP -----------------------------------------------------------------------------------

def test_get_with_query_variables_and_operation_name(env):
    portico, _ = env
    r = gql_get(portico, query="query A { product(id: \"1\") { name } } query B($id: ID!) { product(id: $id) { name } }",
                variables=json.dumps({"id": "5"}), operationName="B")
    assert ok(r) == {"product": {"name": "Product 5"}}
    r = gql_get(portico, query='{ product(id: "6") { id } }')
    assert ok(r) == {"product": {"id": "6"}}


def test_get_of_a_mutation_is_405_and_calls_nothing(env):
    portico, b = env
    before = total_calls(b)
    r = gql_get(portico, query='mutation { createProduct(name: "x", amount: 1) { id } }')
    assert r.status == 405, r
    assert "POST" in r.headers["Allow"]
    assert r.json["errors"][0]["message"]
    assert total_calls(b) == before
    r = call(portico, "/graphql", method="PUT", body=b"{}", headers={"Content-Type": "application/json"})
    assert r.status == 405, r
    assert r.headers["Allow"] == "GET, POST"


def test_post_json_and_post_graphql(env):
    portico, _ = env
    assert ok(gql(portico, 'query($id: ID!) { product(id: $id) { name } }', {"id": 9})) == {"product": {"name": "Product 9"}}
    r = call(portico, "/graphql", {"Content-Type": "application/graphql"}, "POST", b'{ product(id: "10") { name } }')
    assert ok(r) == {"product": {"name": "Product 10"}}
    r = call(portico, "/graphql", {"Content-Type": "application/json; charset=utf-8"}, "POST",
             json.dumps({"query": '{ product(id: "11") { name } }', "variables": None, "operationName": None}).encode())
    assert ok(r) == {"product": {"name": "Product 11"}}


def test_requests_that_are_not_graphql_are_400(env):
    portico, b = env
    before = total_calls(b)
    cases = [
        (b"{not json", "the body is not JSON"),
        (b"[1, 2]", "the body must be a JSON object"),
        (b"{}", "a GraphQL request needs a 'query'"),
        (b'{"variables": {"id": 1}}', "a GraphQL request needs a 'query'"),
        (b'{"query": 5}', "'query' must be a string"),
        (b'{"query": "{ plan }", "variables": [1]}', "'variables' must be an object"),
    ]
    for body, message in cases:
        r = call(portico, "/graphql", {"Content-Type": "application/json"}, "POST", body)
        assert r.status == 400, (body, r)
        assert r.headers["Content-Type"].startswith("application/json")
        assert r.json == {"errors": [{"message": message}]}, body
    r = gql_get(portico, operationName="A")
    assert r.status == 400 and r.json == {"errors": [{"message": "a GraphQL request needs a 'query'"}]}, r
    r = gql_get(portico, query="{ plan }", variables="[1]")
    assert r.status == 400 and r.json == {"errors": [{"message": "'variables' must be an object"}]}, r
    r = gql_get(portico, query="{ plan }", variables="nope")
    assert r.status == 400 and r.json == {"errors": [{"message": "'variables' is not JSON"}]}, r
    r = call(portico, "/graphql", {"Content-Type": "text/plain"}, "POST", b'{"query": "{ plan }"}')
    assert r.status == 415, r
    assert total_calls(b) == before


@pytest.mark.parametrize("name", ["wrong variable type", "missing variable", "variable of an input type"])
def test_variables_that_do_not_fit_are_400_with_graphql_js_messages(env, reference, name):
    portico, b = env
    case = REFERENCE_CASES[name]
    before = total_calls(b)
    r = gql(portico, case["query"], case.get("variables"))
    assert r.status == 400, r
    assert r.json == reference["cases"][name], r
    assert r.json["errors"][0]["message"].startswith('Variable "$')
    assert total_calls(b) == before


def test_wrong_variable_message_reads_as_graphql_js(env):
    portico, _ = env
    r = gql(portico, 'query Q($id: ID!) { product(id: $id) { name } }', {"id": True})
    assert r.status == 400, r
    assert r.json["errors"] == [{"message": 'Variable "$id" got invalid value true; ID cannot represent value: true',
                                 "locations": [{"line": 1, "column": 9}]}]


@pytest.mark.parametrize("name", ["syntax", "syntax in a string", "validation", "several validation errors",
                                  "two operations without a name", "unknown operation"])
def test_syntax_and_validation_errors_are_graphql_js(env, reference, name):
    portico, b = env
    case = REFERENCE_CASES[name]
    before = total_calls(b)
    r = gql(portico, case["query"], case.get("variables"), case.get("operationName"))
    assert r.status == 400, r
    assert r.json == reference["cases"][name], r
    assert total_calls(b) == before


def test_syntax_and_validation_messages(env):
    portico, _ = env
    r = gql(portico, '{ product(id: "1") { nam } }')
    assert r.status == 400, r
    assert r.json == {"errors": [{"message": 'Cannot query field "nam" on type "Product". Did you mean "name"?',
                                  "locations": [{"line": 1, "column": 22}]}]}
    r = gql(portico, '{ product(id: "1") { name }')
    assert r.status == 400, r
    error = r.json["errors"][0]
    assert error["message"].startswith("Syntax Error: ") and error["locations"] == [{"line": 1, "column": 28}], error


def test_operation_name_selects_among_operations(env):
    portico, _ = env
    doc = 'query A { product(id: "1") { name } } query B { product(id: "2") { name } }'
    assert ok(gql(portico, doc, operation_name="A")) == {"product": {"name": "Product 1"}}
    assert ok(gql(portico, doc, operation_name="B")) == {"product": {"name": "Product 2"}}


# --- 8. limits ---------------------------------------------------------------------------------

def refused(r, status=400, code="QUERY_REFUSED"):
    assert r.status == status, r
    body = r.json
    assert "data" not in body, body
    assert len(body["errors"]) == 1 and body["errors"][0]["extensions"] == {"code": code}, body
    return body["errors"][0]["message"]


def test_limits_refuse_before_any_call(env):
    portico, b = env
    before = total_calls(b)
    # depth: orders 1, items 2, product 3, name 4
    r = gql(portico, '{ orders(userId: "1") { items { product { name } } } }', path="/limited")
    assert refused(r) == "The query is 4 levels deep, more than the maximum of 3."
    r = gql(portico, '{ ...F } fragment F on Query { orders(userId: "1") { ... on Order { items { product { name } } } } }',
            path="/limited")
    assert refused(r) == "The query is 4 levels deep, more than the maximum of 3."
    # aliases, fragments counted where spread
    r = gql(portico, '{ a: product(id: "1") { name } b: product(id: "2") { name } c: product(id: "3") { name } }',
            path="/limited")
    assert refused(r) == "The query uses 3 aliases, more than the maximum of 2."
    r = gql(portico, '{ a: product(id: "1") { ...F } ...Q } fragment F on Product { n: name } fragment Q on Query { b: plan }',
            path="/limited")
    assert refused(r) == "The query uses 3 aliases, more than the maximum of 2."
    # cost: a list's first argument (literal or variable), list_size per level of list
    r = gql(portico, "{ products(first: 1000) { price { amount } } }", path="/limited")
    assert refused(r) == "The query's cost is 1001, more than the maximum of 50."
    r = gql(portico, "query($n: Int) { products(first: $n) { price { amount } } }", {"n": 1000}, path="/limited")
    assert refused(r) == "The query's cost is 1001, more than the maximum of 50."
    r = gql(portico, "{ matrix { price { amount } } }", path="/limited")
    assert refused(r) == "The query's cost is 101, more than the maximum of 50."
    # tokens: a syntax error found while reading
    r = gql(portico, '{ product(id: "1") { %s } }' % " ".join(["id"] * 60), path="/limited")
    assert r.status == 400, r
    assert r.json["errors"][0]["message"] == "Syntax Error: Document contains more than 60 tokens. Parsing aborted."
    # the document's size
    big = '{ product(id: "1") { name } }' + " " * 400
    r = gql(portico, big, path="/limited")
    assert refused(r, 413, "QUERY_TOO_LARGE") == "The query is %d bytes, more than the maximum of 400." % len(big)
    # introspection
    r = gql(portico, "{ __schema { queryType { name } } }", path="/limited")
    assert "introspection is not allowed" in refused(r)
    r = gql(portico, '{ __type(name: "Product") { name } }', path="/limited")
    assert "introspection is not allowed" in refused(r)
    r = gql(portico, "{ ...F } fragment F on Query { ... on Query { s: __schema { queryType { name } } } }", path="/limited")
    assert "introspection is not allowed" in refused(r)
    assert total_calls(b) == before


@pytest.mark.parametrize("query,variables", [
    ("query($n: Int = 1000) { products(first: $n) { price { amount } } }", {}),  # the variable's default
    ("query($n: Int) { products(first: $n) { price { amount } } }", {"n": 1000.0}),  # an Int to graphql-js
], ids=["default value", "integral float"])
def test_cost_reads_a_variable_first_as_it_is_coerced(env, query, variables):
    """`first: $n` costs what $n is when the operation runs: graphql-js (and the gateway's
    executor) give $n the value 1000 in both cases, so the cost is 1001, over max_cost."""
    portico, b = env
    before = total_calls(b)
    r = gql(portico, query, variables, path="/limited")
    assert refused(r) == "The query's cost is 1001, more than the maximum of 50."
    assert total_calls(b) == before


def test_documents_within_the_limits_are_served(env):
    portico, b = env
    assert ok(gql(portico, "{ __typename }", path="/limited")) == {"__typename": "Query"}
    assert ok(gql(portico, '{ a: product(id: "1") { __typename name } b: plan }', path="/limited")) == {
        "a": {"__typename": "Product", "name": "Product 1"}, "b": None}
    data = ok(gql(portico, "{ products(first: 2) { price { amount } } }", path="/limited"))
    assert len(data["products"]) == 13  # the limit counts; the service answers what it has
    # introspection fields do not count in the depth
    assert ok(gql(portico, '{ product(id: "2") { price { __typename } } }', path="/limited")) == {
        "product": {"price": {"__typename": "Money"}}}


# --- 9. persisted queries ----------------------------------------------------------------------

def test_automatic_persisted_queries(env):
    portico, b = env
    query = 'query Q_%s { product(id: "12") { name } }' % uuid.uuid4().hex
    digest = hashlib.sha256(query.encode()).hexdigest()
    ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    before = total_calls(b)
    r = gql(portico, None, extensions=ext)
    assert r.status == 200, r
    assert r.json == {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
    assert total_calls(b) == before
    assert ok(gql(portico, query, extensions=ext)) == {"product": {"name": "Product 12"}}
    assert total_calls(b) == before + 1
    for _ in range(2):  # every worker knows it
        assert ok(gql(portico, None, extensions=ext)) == {"product": {"name": "Product 12"}}
    r = gql_get(portico, extensions=json.dumps(ext))
    assert ok(r) == {"product": {"name": "Product 12"}}
    assert total_calls(b) == before + 4
    # a hash that is not the query's
    r = gql(portico, query + " ", extensions=ext)
    assert r.status == 400, r
    assert r.json["errors"][0]["message"] == "provided sha does not match query"
    assert total_calls(b) == before + 4


# --- 10. introspection -------------------------------------------------------------------------

@pytest.mark.parametrize("options", list(INTROSPECTION_OPTIONS))
def test_introspection_matches_graphql_js(env, reference, options):
    portico, _ = env
    ref = reference["introspection"][options]
    assert "errors" not in ref["result"], ref["result"]
    r = gql(portico, ref["query"])
    assert ok(r) == ref["result"]["data"]


# --- 11. load-time checks ----------------------------------------------------------------------

def bad_config(config):
    return {"_format_version": "3.0", "services": [{"name": "users", "url": "http://127.0.0.1:9"}],
            "routes": [{"name": "r", "paths": ["/g"], "plugins": [{"name": "graphql", "config": config}]}]}


SMALL_SDL = "type Query {\n  user(id: ID!): User\n}\n\ntype User {\n  id: ID!\n  friend_id: ID\n  friend: User\n}\n"

BAD_CONFIGS = [
    ("sdl does not parse", {"schema": "type Query {\n  user(id: ID!): User\n  broken(: Int\n}\n"},
     "schema", "3:10: Syntax Error: Expected Name, found \":\"."),
    ("sdl does not validate", {"schema": "type Query {\n  user: Nope\n}\n"},
     "schema", '2:9: Unknown type "Nope".'),
    ("resolver for a field not in the schema",
     {"schema": SMALL_SDL, "resolvers": {"Query.nope": {"service": "users", "path": "/x"}}},
     "resolvers.Query.nope", "'Query.nope' is not a field of the schema (Type.field)"),
    ("resolver for a type not in the schema",
     {"schema": SMALL_SDL, "resolvers": {"Ghost.id": {"value": 1}}},
     "resolvers.Ghost.id", "'Ghost.id' is not a field of the schema"),
    ("value and service", {"schema": SMALL_SDL, "resolvers": {"Query.user": {"service": "users", "path": "/u", "value": {"id": 1}}}},
     "resolvers.Query.user", "a resolver has one of: service (+ path) or url, value, property"),
    ("no way at all", {"schema": SMALL_SDL, "resolvers": {"Query.user": {"select": "/data"}}},
     "resolvers.Query.user", "a resolver has one of: service (+ path) or url, value, property"),
    ("unknown template source", {"schema": SMALL_SDL, "resolvers": {"Query.user": {"service": "users", "path": "/u/{foo.bar}"}}},
     "resolvers.Query.user.path", "unknown template source 'foo' in {foo.bar}"),
    ("parents outside a batch", {"schema": SMALL_SDL, "resolvers": {"User.friend": {"service": "users", "path": "/u/{parents.id}"}}},
     "resolvers.User.friend.path", "unknown template source 'parents'"),
    ("batch without key", {"schema": SMALL_SDL, "resolvers": {"User.friend": {
        "service": "users", "path": "/users/{parent.friend_id}",
        "batch": {"path": "/users?ids={parents.friend_id|join:,}", "select": "/data"}}}},
     "resolvers.User.friend.batch.key", "a batch needs the key"),
    ("batch without parents", {"schema": SMALL_SDL, "resolvers": {"User.friend": {
        "service": "users", "path": "/users/{parent.friend_id}", "batch": {"path": "/users", "key": "id"}}}},
     "resolvers.User.friend.batch", "a batch names its parents' key once"),
    ("unknown service", {"schema": SMALL_SDL, "resolvers": {"Query.user": {"service": "ghost", "path": "/u/{args.id}"}}},
     "resolvers.Query.user.service", "no service named 'ghost'"),
    ("schema file that does not exist", {"schema": "/nonexistent/dir/schema.graphql"},
     "schema", "cannot read the schema file '/nonexistent/dir/schema.graphql'"),
    ("malformed pointer", {"schema": SMALL_SDL, "resolvers": {"Query.user": {"service": "users", "path": "/u", "select": "data"}}},
     "resolvers.Query.user.select", "not a JSON pointer"),
    ("abstract type that is not one", {"schema": SMALL_SDL, "abstract_types": {"User": {"property": "kind"}}},
     "abstract_types.User", "'User' is not an interface or union of the schema"),
    ("abstract type mapped to a type it cannot be",
     {"schema": SMALL_SDL + "\ntype Pet {\n  id: ID!\n}\n\nunion Thing = User\n",
      "abstract_types": {"Thing": {"property": "kind", "types": {"pet": "Pet"}}}},
     "abstract_types.Thing.types.pet", "'Pet' is not an object type of 'Thing'"),
    ("abstract type without its property", {"schema": SMALL_SDL + "\nunion Thing = User\n",
                                            "abstract_types": {"Thing": {"types": {"u": "User"}}}},
     "abstract_types.Thing.property", "required field missing"),
    ("no calls in parallel", {"schema": SMALL_SDL, "max_parallel_calls": 0},
     "max_parallel_calls", "value should be between 1 and 10000"),
    ("host from a template", {"schema": SMALL_SDL, "resolvers": {"Query.user": {"url": "http://{args.id}/u"}}},
     "resolvers.Query.user.url", "the host of a URL cannot come from a template"),
]


@pytest.mark.parametrize("name,config,field,reason", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_check_refuses_bad_config_with_the_field_path(tmp_path, name, config, field, reason):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad_config(config), indent=1))
    assert_check_refuses(path, "routes[0].plugins[0].config." + field, reason)


# --- 12. the examples --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """examples/bff.yml on the demo services (examples/backends/demo_services.py)."""
    backends = Backends()
    try:
        text = demo_config(backends, "bff.yml")
        # the schema files, wherever pytest runs from
        text = text.replace("schema: examples/", "schema: %s/examples/" % SOURCE_DIR)
        path = tmp_path_factory.mktemp("bff") / "bff.yml"
        path.write_text(text)
        portico = Portico(path)
    except Exception:
        stop(backends.proc)
        raise
    yield portico
    portico.close()
    stop(backends.proc)


def test_example_mobile_bff(demo):
    r = gql(demo, "{ dashboard(userId: 1) { user { id name } unreadCount } }", path="/mobile/graphql")
    assert ok(r) == {"dashboard": {"user": {"id": "1", "name": "Ada Lovelace"}, "unreadCount": 1}}
    r = gql_get(demo, "/mobile/graphql", query="{ dashboard(userId: 2) { user { name } unreadCount } }")
    assert ok(r) == {"dashboard": {"user": {"name": "Grace Hopper"}, "unreadCount": 0}}
    # a phone's screens are shallow (max_depth 5)
    r = gql(demo, "{ dashboard(userId: 1) { user { id } } }", path="/mobile/graphql")
    assert ok(r) == {"dashboard": {"user": {"id": "1"}}}


def test_example_web_bff(demo):
    query = """{
      user(id: 1) { name createdAt plan orders { id status items { quantity product { name price { amount } } } } }
      other: user(id: 2) { orders { items { quantity product { sku } } } }
    }"""
    assert ok(gql(demo, query, path="/web/graphql")) == {
        "user": {"name": "Ada Lovelace", "createdAt": "2024-01-12T09:30:00Z", "plan": "pro",
                 "orders": [{"id": "5001", "status": "shipped",
                             "items": [{"quantity": 1, "product": {"name": "Mechanical keyboard", "price": {"amount": 12900}}}]}]},
        "other": {"orders": [{"items": [{"quantity": 2, "product": {"sku": "MS-01"}}]}]},
    }
    r = gql(demo, "{ user(id: 1) { recommendations { name } notifications { message } activity { event detail } } }",
            path="/web/graphql")
    assert ok(r) == {"user": {"recommendations": [{"name": "Mechanical keyboard"}, {"name": "27-inch monitor"}],
                              "notifications": [{"message": "Your order 5001 has shipped"}],
                              "activity": [{"event": "login", "detail": "web"}, {"event": "order", "detail": "5001"}]}}


def test_example_web_bff_mutation(demo):
    r = gql(demo, "mutation($o: OrderInput!) { placeOrder(order: $o) { status items { quantity product { name } } } }",
            {"o": {"userId": "1", "productId": "101"}}, path="/web/graphql")
    assert ok(r) == {"placeOrder": {"status": "created",
                                    "items": [{"quantity": 1, "product": {"name": "Mechanical keyboard"}}]}}
    # a mutation is not served on GET
    r = gql_get(demo, "/web/graphql", query='mutation { placeOrder(order: {userId: 1, productId: 101}) { status } }')
    assert r.status == 405, r
