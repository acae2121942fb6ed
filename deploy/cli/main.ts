/**
 * wharf <command> — the operator's command line (`npx wharf ...` in the checkout).
 *
 *   wharf drill <name> [options]      failure drills against the local geo cluster (see deploy/drill/cli.ts)
 *   wharf vulndb import PATH...       import vulnerability feed files or folders, or a bundle, into a running node
 *   wharf vulndb export FILE          write every current feed to one checksummed bundle (for an air gap)
 *   wharf vulndb feeds                each feed's age and size; warns about stale feeds
 *
 * vulndb commands talk to a node: --url or WHARF_URL (default http://127.0.0.1:5000), credentials from
 * --user/--password or WHARF_USER/WHARF_PASSWORD (a superuser when the node runs token auth).
 */
import { main as drill } from '../drill/cli.js';
import { vulndb } from './vulndb.js';

const USAGE = `usage: wharf drill <name> [options]
       wharf vulndb import PATH... | export FILE | feeds   [--url URL] [--user U --password P] [--json]`;

const [command, ...rest] = process.argv.slice(2);
let code: number;
if (command === 'drill') code = await drill(rest);
else if (command === 'vulndb') code = await vulndb(rest, process.env);
else {
  process.stderr.write(`${USAGE}\n`);
  code = command === undefined || command === '--help' || command === '-h' ? 0 : 2;
}
process.exitCode = code;
