/**
 * TCP service names for `-S` (upstream §1.2: "service names OK"). Pure-FTPd hands the port to getaddrinfo,
 * which reads /etc/services; Node has no getservbyname, so the file is read here, once, at start-up.
 */
import { readFile } from 'node:fs/promises';

/** Where service names are defined on every Unix. */
export const SERVICES_FILE = '/etc/services';

/** Parses services(5) text into a name → TCP port map; aliases count, the first definition wins. */
export function parseServices(text: string): Map<string, number> {
  const ports = new Map<string, number>();
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [name, portProto, ...aliases] = line.split(/\s+/);
    const match = /^(\d+)\/tcp$/i.exec(portProto ?? '');
    if (name === undefined || match === null) continue;
    const port = Number(match[1]);
    if (port > 65535) continue;
    for (const n of [name, ...aliases]) if (!ports.has(n)) ports.set(n, port);
  }
  return ports;
}

const cache = new Map<string, Promise<Map<string, number>>>();

/** Port of TCP service `name`, or undefined when unknown or when the file is missing. */
export async function lookupService(name: string, file: string = SERVICES_FILE): Promise<number | undefined> {
  let table = cache.get(file);
  if (table === undefined) {
    table = readFile(file, 'utf8').then(parseServices, () => new Map<string, number>());
    cache.set(file, table);
  }
  return (await table).get(name);
}
