// A service instrumented with the official OpenTelemetry JS SDK: it continues the trace its
// caller sends in W3C traceparent (the SDK's propagator), records one SERVER span per request,
// and exports it over OTLP/HTTP protobuf (the SDK's exporter) to the collector given.
//   node server.js <port> <collector traces URL>
// The answer echoes the request's headers, so a test sees what the gateway sent.
'use strict';
const http = require('http');
const api = require('@opentelemetry/api');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');

const [port, collector] = process.argv.slice(2);
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'node-backend' }),
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: collector }))],
});
provider.register({ propagator: new W3CTraceContextPropagator() });
const tracer = api.trace.getTracer('portico-test-backend');

const server = http.createServer((req, res) => {
  const parent = api.propagation.extract(api.context.active(), req.headers);
  const span = tracer.startSpan(`backend ${req.method}`, { kind: api.SpanKind.SERVER, attributes: { 'http.target': req.url } }, parent);
  const body = JSON.stringify({ path: req.url, headers: req.headers });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
  span.end();
});
server.keepAliveTimeout = 60000;
server.listen(Number(port), '127.0.0.1', () => console.log(`listening ${port}`));

const stop = () => provider.shutdown().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
