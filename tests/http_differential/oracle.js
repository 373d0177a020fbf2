// The oracle of the HTTP/1.1 differential test: Node.js's own request parser (llhttp, through
// the HTTPParser binding its http server uses, set up as the server sets it up: strict, no
// lenient flags) reads each case's bytes as one connection's stream.
//
//   node oracle.js MAX_HEADER_SIZE < cases.json > results.json
//
// cases.json: [{"name", "bytes" (base64)}, ...]. For each case it prints
// {"name", "messages": [{"method", "target", "version", "headers": [[name, value], ...],
// "body" (base64), "upgrade"}], "outcome": "complete" | "incomplete" | "error", "error": code}:
// the requests read in full, then how the stream ended (complete: every byte was part of a
// finished request, or of an upgraded connection; incomplete: it stopped inside a request;
// error: llhttp refused it). Header names are lower-cased (both sides compare them so).
'use strict';
const { HTTPParser, methods } = require('_http_common');

// llhttp's method numbers as Node names them; Node 20's table stops before llhttp 9's QUERY (46).
function methodName(index) {
  if (methods[index] !== undefined) return methods[index];
  return index === 46 ? 'QUERY' : `(llhttp method ${index})`;
}

function parse(bytes, maxHeaderSize) {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, maxHeaderSize, HTTPParser.kLenientNone);
  const messages = [];
  let current = null;
  let begun = 0;
  let pendingHeaders = [];
  let pendingUrl = '';
  let upgraded = false;
  parser[HTTPParser.kOnMessageBegin] = () => { begun += 1; };
  parser[HTTPParser.kOnHeaders] = (headers, url) => {  // (a long head arrives in parts)
    pendingHeaders = pendingHeaders.concat(headers);
    pendingUrl += url;
  };
  parser[HTTPParser.kOnHeadersComplete] = (major, minor, headers, method, url, statusCode, statusMessage, upgrade) => {
    const all = headers ? pendingHeaders.concat(headers) : pendingHeaders;
    const pairs = [];
    for (let i = 0; i < all.length; i += 2) pairs.push([all[i].toLowerCase(), all[i + 1]]);
    current = {
      method: methodName(method),
      target: pendingUrl + (url || ''),
      version: `${major}.${minor}`,
      headers: pairs,
      body: [],
      upgrade: Boolean(upgrade),
    };
    pendingHeaders = [];
    pendingUrl = '';
    if (upgrade) upgraded = true;
    return 0;
  };
  parser[HTTPParser.kOnBody] = (chunk) => { current.body.push(Buffer.from(chunk)); };
  parser[HTTPParser.kOnMessageComplete] = () => {
    current.body = Buffer.concat(current.body).toString('base64');
    messages.push(current);
    current = null;
  };
  const result = parser.execute(bytes);
  let outcome = 'complete';
  let error = null;
  if (result instanceof Error) {
    outcome = 'error';
    error = result.code;
  } else if (upgraded) {
    // The rest of the stream is the upgraded protocol's: an upgrade's message is complete
    // at its head (llhttp stops there).
    if (current !== null) {
      current.body = Buffer.concat(current.body).toString('base64');
      messages.push(current);
    }
  } else if (begun > messages.length) {
    outcome = 'incomplete';
  }
  parser.close();
  return { messages, outcome, error };
}

module.exports = { parse };

if (require.main === module) {
  const maxHeaderSize = Number(process.argv[2] || 16384);
  const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const out = cases.map((c) => Object.assign({ name: c.name }, parse(Buffer.from(c.bytes, 'base64'), maxHeaderSize)));
  process.stdout.write(JSON.stringify(out));
}
