/**
 * The guard the Apify CLI and SDK tests rely on: in a guarded process, every way out that is not
 * 127.0.0.1 is refused and recorded, while 127.0.0.1 works. The probes aim at 127.0.0.2, which
 * the guard refuses but which is loopback too: should the guard fail, nothing leaves the machine.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { guardEnv, readGuardLog } from './loopback-guard.js';

let dir: string;
let server: http.Server;
let port: number;

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kv-guard-'));
  server = http.createServer((_req, res) => res.end('local'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Runs an ES module script in a guarded node; resolves with its stdout. */
function runGuarded(script: string, logFile: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...guardEnv(logFile) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('loopback guard', () => {
  it('refuses and records TCP, fetch, HTTP, DNS and UDP to anything but 127.0.0.1, and lets 127.0.0.1 through', { timeout: 60_000 }, async () => {
    const logFile = path.join(dir, 'probe.log');
    const script = `
      import net from 'node:net';
      import http from 'node:http';
      import dns from 'node:dns';
      import { lookup } from 'node:dns/promises';
      import dgram from 'node:dgram';
      const outcome = (p) => p.then(() => 'passed', (e) => (String(e.message + ' ' + (e.cause?.message ?? '')).includes('loopback-guard') ? 'refused' : 'failed: ' + e.message));
      const results = {};
      results.local = await fetch('http://127.0.0.1:${port}/').then((r) => r.text());
      results.fetch = await outcome(fetch('http://127.0.0.2:${port}/'));
      results.http = await outcome(new Promise((ok, fail) => http.get('http://127.0.0.2:${port}/', ok).on('error', fail)));
      results.tcp = await outcome(new Promise((ok, fail) => net.connect(${port}, '127.0.0.2', ok).on('error', fail)));
      results.lookup = await outcome(lookup('127.0.0.2'));
      const resolver = new dns.promises.Resolver();
      resolver.setServers(['127.0.0.2']);
      results.resolve = await outcome(resolver.resolve4('probe.test'));
      const udp = dgram.createSocket('udp4');
      results.udp = await outcome(new Promise((ok, fail) => udp.send('x', 9, '127.0.0.2', (e) => (e ? fail(e) : ok()))));
      udp.close();
      console.log(JSON.stringify(results));
    `;
    const { code, out, err } = await runGuarded(script, logFile);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      local: 'local',
      fetch: 'refused',
      http: 'refused',
      tcp: 'refused',
      lookup: 'refused',
      resolve: 'refused',
      udp: 'refused',
    });
    const log = await readGuardLog(logFile);
    expect(log.armed).toHaveLength(1);
    expect(log.refused).toEqual([
      `connect 127.0.0.2:${port}`,
      `connect 127.0.0.2:${port}`,
      `connect 127.0.0.2:${port}`,
      'lookup 127.0.0.2',
      'resolve4 probe.test',
      'udp 127.0.0.2',
    ]);
  });

  it('is inherited by node processes a guarded process starts, and records them', { timeout: 60_000 }, async () => {
    const logFile = path.join(dir, 'children.log');
    const script = `
      import { execFileSync } from 'node:child_process';
      execFileSync(process.execPath, ['-e', 'fetch("http://127.0.0.2:${port}/").catch(() => {})']);
    `;
    const { code } = await runGuarded(script, logFile);
    expect(code).toBe(0);
    const log = await readGuardLog(logFile);
    expect(log.armed).toHaveLength(2);
    expect(log.children).toEqual([`execFileSync ${process.execPath}`]);
    expect(log.refused).toEqual([`connect 127.0.0.2:${port}`]);
  });
});
