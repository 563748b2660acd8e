/**
 * Preloaded into the child processes that run third-party tools (the Apify CLI, an Apify SDK
 * actor) against the local server, as `NODE_OPTIONS=--import=<this file's URL>`, so node
 * processes they start are guarded too. Every TCP connection, DNS query and UDP datagram to
 * anything but 127.0.0.1, ::1 or localhost is refused before it leaves, and written to the file
 * named by LOOPBACK_GUARD_LOG, which the test reads and requires to hold no refusal. Processes
 * they spawn are written there as well (a non-node child would not be guarded).
 *
 * Plain JavaScript: node loads it before any TypeScript tooling.
 */
import childProcess from 'node:child_process';
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

const LOG = process.env.LOOPBACK_GUARD_LOG;
if (!LOG) throw new Error('loopback-guard: LOOPBACK_GUARD_LOG must name the file to record in');

/** Deliberately narrower than 127.0.0.0/8: the tests' servers listen on 127.0.0.1 only. */
const ALLOWED = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '::ffff:127.0.0.1']);
const allowed = (host) => ALLOWED.has(String(host).toLowerCase());

function record(line) {
  fs.appendFileSync(LOG, `${line}\n`);
}

function refusal(what) {
  record(`refused ${what}`);
  const err = new Error(`loopback-guard: refused ${what} (tests talk to 127.0.0.1 only)`);
  err.code = 'ECONNREFUSED';
  return err;
}

/** Where a `socket.connect(...)` call goes, whichever of its forms was used. */
function targetOf(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first !== null && typeof first === 'object') {
    // HTTP's agent passes its request options, `path: null` included: only a set path is a pipe.
    return typeof first.path === 'string' && first.path !== ''
      ? { path: first.path }
      : { host: first.host ?? 'localhost', port: first.port };
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: first };
  }
  return { path: first };
}

// TCP (and TLS, HTTP, fetch, WebSocket on top of it).
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const target = targetOf(args);
  if (target.path === undefined && !allowed(target.host)) {
    const err = refusal(`connect ${target.host}:${target.port}`);
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return connect.apply(this, args);
};

// Name lookups: getaddrinfo (dns.lookup) and c-ares (dns.resolve*, Resolver).
const lookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, ...rest) {
  if (allowed(hostname)) return lookup.call(this, hostname, ...rest);
  const callback = rest[rest.length - 1];
  const err = refusal(`lookup ${hostname}`);
  process.nextTick(() => callback(err));
  return {};
};
const lookupPromise = dns.promises.lookup;
dns.promises.lookup = function guardedLookupPromise(hostname, ...rest) {
  if (allowed(hostname)) return lookupPromise.call(this, hostname, ...rest);
  return Promise.reject(refusal(`lookup ${hostname}`));
};

const isQuery = (name) => /^(resolve|reverse)/.test(name);
/** A stand-in for one query method that refuses every name (queries go to the configured servers). */
function refusingQuery(name, promises) {
  return function guardedQuery(hostname, ...rest) {
    const err = refusal(`${name} ${hostname}`);
    if (promises) return Promise.reject(err);
    const callback = rest[rest.length - 1];
    process.nextTick(() => callback(err));
    return undefined;
  };
}
for (const [target, promises] of [
  [dns, false],
  [dns.Resolver.prototype, false],
  [dns.promises, true],
  [dns.promises.Resolver.prototype, true],
]) {
  for (const name of Object.getOwnPropertyNames(target).filter(isQuery)) {
    if (typeof target[name] === 'function') target[name] = refusingQuery(name, promises);
  }
}

// UDP.
const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function guardedSend(...args) {
  const host = args.find((arg, i) => i > 0 && typeof arg === 'string');
  if (host === undefined || allowed(host)) return send.apply(this, args);
  const callback = args.find((arg) => typeof arg === 'function');
  const err = refusal(`udp ${host}`);
  if (callback) process.nextTick(() => callback(err));
  return undefined;
};
const connectUdp = dgram.Socket.prototype.connect;
dgram.Socket.prototype.connect = function guardedUdpConnect(port, host, ...rest) {
  if (typeof host !== 'string' || allowed(host)) return connectUdp.call(this, port, host, ...rest);
  throw refusal(`udp ${host}:${port}`);
};

// Child processes: recorded, so a test sees any that would run unguarded.
for (const name of ['spawn', 'execFile', 'exec', 'fork', 'spawnSync', 'execFileSync', 'execSync']) {
  const original = childProcess[name];
  childProcess[name] = function recordedChild(command, ...rest) {
    record(`child ${name} ${command}`);
    return original.call(this, command, ...rest);
  };
}

// ESM importers of `node:dns` etc. see the patched functions too.
syncBuiltinESMExports();
record(`armed ${process.pid} ${process.argv[1] ?? ''}`);
