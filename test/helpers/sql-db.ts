/**
 * Throw-away MariaDB/MySQL and PostgreSQL databases for the SQL backend tests: a database named
 * tsftpd_test_<pid>_<n> with Pure-FTPd's documented `users` table (README.MySQL / README.PGSQL)
 * plus a `ports` table, a login role with a password for the server, and writers of
 * mysql.conf / pgsql.conf files. close() drops everything. When the database server cannot be
 * reached the fixture is a string (the reason to skip); under CI=true the caller fails instead.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { isCi } from './ci.js';

/** One row of the users table. */
export interface SqlUser {
  user: string;
  password: string;
  uid: string | number;
  gid: string | number;
  dir: string;
  quotaFiles?: number;
  quotaSize?: number;
  ulBandwidth?: number;
  dlBandwidth?: number;
  ulRatio?: number;
  dlRatio?: number;
  ip?: string;
}

/** A database ready for one test file. */
export interface SqlFixture {
  dialect: 'mysql' | 'pgsql';
  database: string;
  /** `MYSQL`/`PGSQL`, the keyword prefix. */
  prefix: string;
  /** Quotes an identifier as the documented configs do (none for MySQL, "..." for PostgreSQL). */
  id(name: string): string;
  insert(u: SqlUser): Promise<void>;
  /** Runs administrative SQL in the test database. */
  exec(sql: string, values?: unknown[]): Promise<void>;
  /** Writes a configuration file: connection keys first, then `lines` verbatim. */
  writeConf(dir: string, name: string, lines: string[]): Promise<string>;
  close(): Promise<void>;
}

let counter = 0;
/** Where the test databases are (override for a developer's machine). */
const MYSQL_PORT = Number(process.env.TSFTPD_TEST_MYSQL_PORT ?? 3306);
const PGSQL_PORT = Number(process.env.TSFTPD_TEST_PGSQL_PORT ?? 5432);
const COLUMNS = ['User', 'Password', 'Uid', 'Gid', 'Dir', 'QuotaFiles', 'QuotaSize'].concat([
  'ULBandwidth',
  'DLBandwidth',
  'ULRatio',
  'DLRatio',
  'Ip',
]);
const rowValues = (u: SqlUser): (string | number | null)[] => [
  u.user, u.password, String(u.uid), String(u.gid), u.dir, u.quotaFiles ?? null, u.quotaSize ?? null,
  u.ulBandwidth ?? null, u.dlBandwidth ?? null, u.ulRatio ?? null, u.dlRatio ?? null, u.ip ?? null,
]; // prettier-ignore

/** The MariaDB/MySQL fixture, or why it is unavailable. */
export async function mysqlFixture(): Promise<SqlFixture | string> {
  const name = `tsftpd_test_${process.pid}_${++counter}`;
  const rolePassword = `pw-${name}`;
  let admin: mysql.Connection;
  try {
    admin = await mysql.createConnection({
      host: '127.0.0.1',
      port: MYSQL_PORT,
      user: 'root',
      connectTimeout: 3000,
    });
  } catch (err) {
    return `MariaDB/MySQL not reachable on 127.0.0.1:${MYSQL_PORT} as root (${(err as Error).message})`;
  }
  await admin.query(`CREATE DATABASE ${name}`);
  for (const host of ['127.0.0.1', 'localhost']) {
    await admin.query(`CREATE USER '${name}'@'${host}' IDENTIFIED BY '${rolePassword}'`);
    await admin.query(`GRANT SELECT ON ${name}.* TO '${name}'@'${host}'`);
  }
  await admin.query(`USE ${name}`);
  await admin.query(`CREATE TABLE users (
    User VARCHAR(64) BINARY NOT NULL PRIMARY KEY, Password VARCHAR(255) BINARY NOT NULL,
    Uid VARCHAR(32) NOT NULL DEFAULT '-1', Gid VARCHAR(32) NOT NULL DEFAULT '-1', Dir VARCHAR(255) BINARY NOT NULL,
    QuotaFiles INT, QuotaSize INT, ULBandwidth INT, DLBandwidth INT, ULRatio INT, DLRatio INT, Ip VARCHAR(64))`);
  await admin.query('CREATE TABLE ports (port INT NOT NULL)');
  return {
    dialect: 'mysql',
    database: name,
    prefix: 'MYSQL',
    id: (n) => n,
    insert: async (u) => {
      await admin.execute(
        `INSERT INTO users (${COLUMNS.join(',')}) VALUES (${COLUMNS.map(() => '?').join(',')})`,
        rowValues(u),
      );
    },
    exec: async (sql, values) => void (await admin.query(sql, values)),
    writeConf: async (dir, file, lines) => {
      const conf = path.join(dir, file);
      const head = [
        'MYSQLServer 127.0.0.1',
        `MYSQLPort ${MYSQL_PORT}`,
        `MYSQLUser ${name}`,
        `MYSQLPassword ${rolePassword}`,
      ];
      await writeFile(conf, [...head, `MYSQLDatabase ${name}`, ...lines, ''].join('\n'));
      return conf;
    },
    close: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`).catch(() => undefined);
      for (const host of ['127.0.0.1', 'localhost'])
        await admin.query(`DROP USER IF EXISTS '${name}'@'${host}'`).catch(() => undefined);
      await admin.end();
    },
  };
}

/** Connects as the first of postgres/root that the server trusts. */
async function pgAdmin(database: string): Promise<{ client: pg.Client; user: string } | string> {
  let last = '';
  for (const user of ['postgres', 'root']) {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: PGSQL_PORT,
      user,
      database,
      connectionTimeoutMillis: 3000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return { client, user };
    } catch (err) {
      last = (err as Error).message;
      await client.end().catch(() => undefined);
    }
  }
  return `PostgreSQL not reachable on 127.0.0.1:${PGSQL_PORT} as postgres or root, database ${database} (${last})`;
}

/** The PostgreSQL fixture, or why it is unavailable. */
export async function pgsqlFixture(): Promise<SqlFixture | string> {
  const name = `tsftpd_test_${process.pid}_${++counter}`;
  const rolePassword = `pw-${name}`;
  const admin = await pgAdmin('test');
  if (typeof admin === 'string') return admin;
  await admin.client.query(`CREATE DATABASE ${name}`);
  await admin.client.query(`CREATE ROLE ${name} LOGIN PASSWORD '${rolePassword}'`);
  const inDb = await pgAdmin(name);
  if (typeof inDb === 'string') return inDb;
  const db = inDb.client;
  await db.query(`CREATE TABLE "users" (
    "User" varchar(64) NOT NULL PRIMARY KEY, "Password" varchar(255) NOT NULL,
    "Uid" varchar(32) NOT NULL DEFAULT '-1', "Gid" varchar(32) NOT NULL DEFAULT '-1', "Dir" varchar(255) NOT NULL,
    "QuotaFiles" int, "QuotaSize" int, "ULBandwidth" int, "DLBandwidth" int, "ULRatio" int, "DLRatio" int,
    "Ip" varchar(64))`);
  await db.query('CREATE TABLE "ports" ("port" int NOT NULL)');
  await db.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${name}`);
  return {
    dialect: 'pgsql',
    database: name,
    prefix: 'PGSQL',
    id: (n) => `"${n}"`,
    insert: async (u) => {
      const cols = COLUMNS.map((c) => `"${c}"`).join(',');
      await db.query(
        `INSERT INTO "users" (${cols}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(',')})`,
        rowValues(u),
      );
    },
    exec: async (sql, values) => void (await db.query(sql, values)),
    writeConf: async (dir, file, lines) => {
      const conf = path.join(dir, file);
      const head = [
        'PGSQLServer 127.0.0.1',
        `PGSQLPort ${PGSQL_PORT}`,
        `PGSQLUser ${name}`,
        `PGSQLPassword ${rolePassword}`,
      ];
      await writeFile(conf, [...head, `PGSQLDatabase ${name}`, ...lines, ''].join('\n'));
      return conf;
    },
    close: async () => {
      await db.end().catch(() => undefined);
      await admin.client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.client.query(`DROP ROLE IF EXISTS ${name}`).catch(() => undefined);
      await admin.client.end().catch(() => undefined);
    },
  };
}

/** Queries of Pure-FTPd's documented configuration, quoted as each README does. */
export function standardQueries(fx: SqlFixture, crypt: string): string[] {
  const q = (col: string): string =>
    `SELECT ${fx.id(col)} FROM ${fx.id('users')} WHERE ${fx.id('User')}='\\L'`;
  const p = fx.prefix;
  return [
    `${p}Crypt ${crypt}`,
    `${p}GetPW ${q('Password')}`,
    `${p}GetUID ${q('Uid')}`,
    `${p}GetGID ${q('Gid')}`,
    `${p}GetDir ${q('Dir')}`,
    `${p}GetQTAFS ${q('QuotaFiles')}`,
    `${p}GetQTASZ ${q('QuotaSize')}`,
    `${p}GetRatioUL ${q('ULRatio')}`,
    `${p}GetRatioDL ${q('DLRatio')}`,
    `${p}GetBandwidthUL ${q('ULBandwidth')}`,
    `${p}GetBandwidthDL ${q('DLBandwidth')}`,
  ];
}

/** Both fixtures, each a database or the reason to skip; under CI=true a missing one fails (after cleanup). */
export async function sqlFixtures(): Promise<{ mysql: SqlFixture | string; pgsql: SqlFixture | string }> {
  const both = { mysql: await mysqlFixture(), pgsql: await pgsqlFixture() };
  const missing = Object.values(both).filter((f): f is string => typeof f === 'string');
  if (missing.length > 0 && isCi()) {
    for (const f of Object.values(both)) if (typeof f !== 'string') await f.close();
    throw new Error(`CI=true and ${missing.join('; ')}`);
  }
  return both;
}
